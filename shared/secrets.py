"""The `Secrets` seam: Secret Manager in the cloud; environment variables or a folder of files locally."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import google_crc32c
import requests
from google.api_core import exceptions as google_errors
from google.api_core.client_options import ClientOptions
from google.auth.credentials import Credentials
from google.cloud import secretmanager

from shared.errors import BackupServiceError, ConfigurationError

ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
VERSION_ADDER_ROLE = "roles/secretmanager.secretVersionAdder"
_SECRET_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


class SecretError(BackupServiceError):
    """A secret could not be read or stored. Messages name the secret, never its value."""


class SecretNotFoundError(SecretError, ConfigurationError):
    """The secret does not exist (or has no enabled version)."""


class SecretAccessDeniedError(SecretError, ConfigurationError):
    """The caller lacks the IAM role needed for the secret."""


class SecretIntegrityError(SecretError):
    """The secret's bytes do not match the checksum that came with them."""


class Secrets(Protocol):
    def get(self, name: str) -> str:
        """The current value of the secret `name`; raises `SecretNotFoundError` when there is none."""
        ...

    def add_version(self, name: str, value: str) -> None:
        """Store `value` as the secret's new current value."""
        ...


def without_trailing_newline(value: str) -> str:
    """`value` less one trailing newline (`\n` or `\r\n`), as `echo value > file` or
    `echo value | gcloud secrets create NAME --data-file=-` leave one."""
    return value.removesuffix("\n").removesuffix("\r") if value.endswith("\n") else value


def _checked_name(name: str) -> str:
    if not _SECRET_NAME.match(name):
        raise ConfigurationError(
            f"secret name {name!r} is invalid: use 1-255 letters, digits, '-' or '_' (Secret Manager's rule)"
        )
    return name


class EnvironmentSecrets:
    """Read-only secrets from environment variables: `db-password` is `BACKUP_SECRET_DB_PASSWORD`."""

    def __init__(self, environ: Mapping[str, str], prefix: str = "BACKUP_SECRET_") -> None:
        self._environ = environ
        self._prefix = prefix

    def variable_for(self, name: str) -> str:
        return self._prefix + _checked_name(name).upper().replace("-", "_")

    def get(self, name: str) -> str:
        variable = self.variable_for(name)
        value = self._environ.get(variable)
        if value is None or value == "":
            raise SecretNotFoundError(f"secret {name!r} is not set: set the environment variable {variable}")
        return value

    def add_version(self, name: str, value: str) -> None:
        raise SecretError(
            f"cannot store secret {name!r}: environment secrets are read-only; "
            "configure a secrets folder (FileSecrets) or Secret Manager to let the service store it"
        )


class FileSecrets:
    """Secrets as files in one folder, one file per secret (like secrets mounted into Cloud Run).

    One trailing newline is dropped on read, so `echo value > folder/name` works.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def path_for(self, name: str) -> Path:
        return self._folder / _checked_name(name)

    def get(self, name: str) -> str:
        path = self.path_for(name)
        try:
            return without_trailing_newline(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise SecretNotFoundError(f"secret {name!r} is not set: create the file {path}") from None
        except UnicodeDecodeError:
            raise SecretError(f"secret {name!r} in {path} is not UTF-8 text") from None
        except OSError as err:
            raise SecretError(f"secret {name!r} could not be read from {path}: {err.strerror}") from None

    def add_version(self, name: str, value: str) -> None:
        """Replace the file atomically, readable by this user only."""
        path = self.path_for(name)
        self._folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self._folder, prefix=f".{name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(value)
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class LayeredSecrets:
    """Reads from the first layer that has the secret; stores into the first layer."""

    def __init__(self, writable: Secrets, *fallbacks: Secrets) -> None:
        self._layers = (writable, *fallbacks)

    def get(self, name: str) -> str:
        misses: list[str] = []
        for layer in self._layers:
            try:
                return layer.get(name)
            except SecretNotFoundError as miss:
                misses.append(str(miss))
        raise SecretNotFoundError("; ".join(misses))

    def add_version(self, name: str, value: str) -> None:
        self._layers[0].add_version(name, value)


def build_secret_manager_client(
    credentials: Credentials | None = None, api_endpoint: str | None = None
) -> secretmanager.SecretManagerServiceClient:
    """A REST-transport client; `credentials=None` uses the function's service account."""
    options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
    return secretmanager.SecretManagerServiceClient(
        credentials=credentials, transport="rest", client_options=options
    )


class SecretManagerSecrets:
    """Secrets in Google Secret Manager; every payload is checked against its CRC32C. One trailing newline
    is dropped on read, as `FileSecrets` does."""

    def __init__(self, client: secretmanager.SecretManagerServiceClient, project: str) -> None:
        self._client = client
        self._project = project

    def get(self, name: str) -> str:
        return self.get_version(name, "latest")

    def get_version(self, name: str, version: str) -> str:
        resource = f"projects/{self._project}/secrets/{_checked_name(name)}/versions/{version}"
        try:
            response = self._client.access_secret_version(request={"name": resource})
        except Exception as err:
            raise self._translate(err, name, action="read", role=ACCESSOR_ROLE) from None
        data: bytes = response.payload.data
        if "data_crc32c" not in response.payload:
            raise SecretIntegrityError(
                f"Secret Manager returned secret {name!r} (project {self._project!r}) without a CRC32C "
                "checksum, so its integrity cannot be verified; retry, and report it if it persists"
            )
        if google_crc32c.value(data) != response.payload.data_crc32c:
            raise SecretIntegrityError(
                f"secret {name!r} (project {self._project!r}) arrived corrupted: its CRC32C does not match "
                "the checksum Secret Manager sent; retry, and report it if it persists"
            )
        try:
            return without_trailing_newline(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise SecretError(f"secret {name!r} (project {self._project!r}) is not UTF-8 text") from None

    def add_version(self, name: str, value: str) -> None:
        parent = f"projects/{self._project}/secrets/{_checked_name(name)}"
        data = value.encode("utf-8")
        payload = {"data": data, "data_crc32c": google_crc32c.value(data)}
        try:
            self._client.add_secret_version(request={"parent": parent, "payload": payload})
        except Exception as err:
            raise self._translate(err, name, action="store", role=VERSION_ADDER_ROLE) from None

    def _translate(self, err: Exception, name: str, *, action: str, role: str) -> Exception:
        """A message naming secret, project and the fix; the server's text never contains the value."""
        where = f"secret {name!r} in project {self._project!r}"
        if isinstance(err, google_errors.NotFound):
            return SecretNotFoundError(
                f"cannot {action} {where}: it does not exist or has no enabled version "
                f"(create it: gcloud secrets create {name} --project {self._project}, "
                f"then add a version). Secret Manager said: {err.message}"
            )
        if isinstance(
            err,
            google_errors.PermissionDenied
            | google_errors.Forbidden
            | google_errors.Unauthenticated
            | google_errors.Unauthorized,
        ):
            return SecretAccessDeniedError(
                f"cannot {action} {where}: permission denied. Grant the function's service account "
                f"{role} on the secret (or the project). Secret Manager said: {err.message}"
            )
        if isinstance(err, google_errors.GoogleAPICallError):
            return SecretError(f"cannot {action} {where}: Secret Manager answered {err.code}: {err.message}")
        if isinstance(err, requests.RequestException):
            return SecretError(
                f"cannot {action} {where}: Secret Manager is unreachable ({type(err).__name__}); "
                "check the network and the configured endpoint"
            )
        return err
