"""`SecretManagerSecrets` through the real REST client on the fake: versions, CRC32C, errors that help."""

from __future__ import annotations

import base64
import socket
import traceback

import google_crc32c
import pytest
from google.auth.credentials import AnonymousCredentials

from shared.secrets import (
    ACCESSOR_ROLE,
    VERSION_ADDER_ROLE,
    SecretAccessDeniedError,
    SecretError,
    SecretIntegrityError,
    SecretManagerSecrets,
    SecretNotFoundError,
    build_secret_manager_client,
)
from tests.fakes.secret_manager_server import FakeSecretManager
from tests.secrets.conftest import PROJECT

VALUE = "S3cret-value-that-must-never-leak-4471"


def error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_get_reads_the_latest_version(
    secret_manager: FakeSecretManager, manager_secrets: SecretManagerSecrets
) -> None:
    secret_manager.put(PROJECT, "db-password", "first")
    secret_manager.put(PROJECT, "db-password", VALUE)
    assert manager_secrets.get("db-password") == VALUE
    assert (
        secret_manager.requests[-1].path
        == f"/v1/projects/{PROJECT}/secrets/db-password/versions/latest:access"
    )


def test_get_version_reads_a_numbered_version(
    secret_manager: FakeSecretManager, manager_secrets: SecretManagerSecrets
) -> None:
    secret_manager.put(PROJECT, "db-password", "first")
    secret_manager.put(PROJECT, "db-password", "second")
    assert manager_secrets.get_version("db-password", "1") == "first"
    assert secret_manager.requests[-1].path.endswith("/secrets/db-password/versions/1:access")


def test_missing_secret_says_which_and_where(manager_secrets: SecretManagerSecrets) -> None:
    with pytest.raises(SecretNotFoundError) as caught:
        manager_secrets.get("sendgrid-key")
    message = str(caught.value)
    assert "'sendgrid-key'" in message
    assert PROJECT in message
    assert "gcloud secrets create sendgrid-key" in message


def test_wrong_checksum_is_an_integrity_error(
    secret_manager: FakeSecretManager, manager_secrets: SecretManagerSecrets
) -> None:
    secret_manager.put(PROJECT, "db-password", VALUE)
    secret_manager.corrupt_checksum(PROJECT, "db-password")
    with pytest.raises(SecretIntegrityError, match="CRC32C") as caught:
        manager_secrets.get("db-password")
    assert VALUE not in error_text(caught.value)


def test_add_version_then_get_returns_it_and_sends_the_checksum(
    secret_manager: FakeSecretManager, manager_secrets: SecretManagerSecrets
) -> None:
    secret_manager.create_secret(PROJECT, "drive-oauth")
    manager_secrets.add_version("drive-oauth", VALUE)
    sent = secret_manager.requests[-1]
    assert sent.method == "POST"
    assert sent.path == f"/v1/projects/{PROJECT}/secrets/drive-oauth:addVersion"
    assert sent.body is not None
    payload = sent.body["payload"]
    assert base64.b64decode(payload["data"]) == VALUE.encode()
    assert int(payload["dataCrc32c"]) == google_crc32c.value(VALUE.encode())
    assert secret_manager.versions(PROJECT, "drive-oauth") == [VALUE.encode()]
    assert manager_secrets.get("drive-oauth") == VALUE


def test_add_version_to_a_missing_secret_says_create_it(manager_secrets: SecretManagerSecrets) -> None:
    with pytest.raises(SecretNotFoundError, match="gcloud secrets create drive-oauth") as caught:
        manager_secrets.add_version("drive-oauth", VALUE)
    assert VALUE not in error_text(caught.value)
    assert base64.b64encode(VALUE.encode()).decode() not in error_text(caught.value)


def test_permission_denied_names_the_missing_role(
    secret_manager: FakeSecretManager, manager_secrets: SecretManagerSecrets
) -> None:
    secret_manager.put(PROJECT, "db-password", VALUE)
    secret_manager.deny(PROJECT, "db-password")
    with pytest.raises(SecretAccessDeniedError) as caught:
        manager_secrets.get("db-password")
    message = str(caught.value)
    assert ACCESSOR_ROLE in message
    assert "'db-password'" in message
    assert PROJECT in message
    assert VALUE not in error_text(caught.value)


def test_permission_denied_on_add_version_never_shows_the_value(
    secret_manager: FakeSecretManager, manager_secrets: SecretManagerSecrets
) -> None:
    secret_manager.create_secret(PROJECT, "drive-oauth")
    secret_manager.deny(PROJECT, "drive-oauth")
    with pytest.raises(SecretAccessDeniedError, match=VERSION_ADDER_ROLE) as caught:
        manager_secrets.add_version("drive-oauth", VALUE)
    text = error_text(caught.value)
    assert VALUE not in text
    assert base64.b64encode(VALUE.encode()).decode() not in text


def test_unreachable_secret_manager_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = build_secret_manager_client(AnonymousCredentials(), f"http://127.0.0.1:{closed_port}")  # type: ignore[no-untyped-call]
    with pytest.raises(SecretError, match="unreachable"):
        SecretManagerSecrets(client, PROJECT).get("db-password")


def test_a_key_stored_with_echo_reads_back_without_the_newline(
    secret_manager: FakeSecretManager, manager_secrets: SecretManagerSecrets
) -> None:
    secret_manager.put(PROJECT, "sendgrid-api-key", "SG.key-from-echo.0123456789\n")
    assert manager_secrets.get("sendgrid-api-key") == "SG.key-from-echo.0123456789"
