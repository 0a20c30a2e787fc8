"""One contract for every writable `Secrets`: files, Secret Manager (fake, real client) and layered."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ConfigurationError
from shared.secrets import (
    EnvironmentSecrets,
    FileSecrets,
    LayeredSecrets,
    SecretManagerSecrets,
    SecretNotFoundError,
    Secrets,
)
from tests.fakes.secret_manager_server import FakeSecretManager
from tests.secrets.conftest import PROJECT


@dataclass
class WritableSecrets:
    secrets: Secrets
    create: Callable[[str], None]
    """Makes the empty secret exist (Secret Manager needs that before a version can be added)."""


@pytest.fixture(params=["file", "secret_manager", "layered"])
def writable(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    secret_manager: FakeSecretManager,
    manager_secrets: SecretManagerSecrets,
) -> WritableSecrets:
    if request.param == "file":
        return WritableSecrets(FileSecrets(tmp_path / "secrets"), lambda name: None)
    if request.param == "secret_manager":
        return WritableSecrets(manager_secrets, lambda name: secret_manager.create_secret(PROJECT, name))
    layered = LayeredSecrets(FileSecrets(tmp_path / "secrets"), EnvironmentSecrets({}))
    return WritableSecrets(layered, lambda name: None)


def error_text(error: BaseException) -> str:
    """Everything a log would show of an error: its message, chain and traceback."""
    return "".join(traceback.format_exception(error))


def test_stored_value_is_read_back(writable: WritableSecrets) -> None:
    writable.create("drive-oauth")
    writable.secrets.add_version("drive-oauth", '{"refresh_token": "1//first"}')
    assert writable.secrets.get("drive-oauth") == '{"refresh_token": "1//first"}'


def test_newest_version_wins(writable: WritableSecrets) -> None:
    writable.create("sendgrid-key")
    writable.secrets.add_version("sendgrid-key", "old-value")
    writable.secrets.add_version("sendgrid-key", "new-value")
    assert writable.secrets.get("sendgrid-key") == "new-value"


def test_missing_secret_names_the_secret(writable: WritableSecrets) -> None:
    with pytest.raises(SecretNotFoundError, match="db-password"):
        writable.secrets.get("db-password")


def test_invalid_name_is_refused(writable: WritableSecrets) -> None:
    with pytest.raises(ConfigurationError, match="invalid"):
        writable.secrets.get("../etc/passwd")


def test_missing_secret_error_never_shows_another_secrets_value(writable: WritableSecrets) -> None:
    writable.create("db-password")
    writable.secrets.add_version("db-password", "Pw-only-in-the-store-8812")
    with pytest.raises(SecretNotFoundError) as caught:
        writable.secrets.get("db-passwrd")
    assert "Pw-only-in-the-store-8812" not in error_text(caught.value)


values = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=200)


@given(value=values)
def test_any_text_round_trips(writable: WritableSecrets, value: str) -> None:
    writable.create("round-trip")
    writable.secrets.add_version("round-trip", value)
    assert writable.secrets.get("round-trip") == value


@given(value=values, ending=st.sampled_from(["\n", "\r\n", "\n\n", "\r\n\r\n", ""]))
def test_one_trailing_newline_is_dropped_everywhere(
    writable: WritableSecrets, value: str, ending: str
) -> None:
    """As `echo VALUE > file` and `echo VALUE | gcloud secrets create NAME --data-file=-` store it."""
    writable.create("sendgrid-key")
    writable.secrets.add_version("sendgrid-key", value + ending)
    expected = value + ending.removesuffix("\n").removesuffix("\r")
    assert writable.secrets.get("sendgrid-key") == expected
