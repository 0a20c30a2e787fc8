"""Environment, file and layered secrets: the laptop and demo defaults."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from shared.secrets import EnvironmentSecrets, FileSecrets, LayeredSecrets, SecretError, SecretNotFoundError


def test_environment_secret_is_read_from_its_variable() -> None:
    secrets = EnvironmentSecrets({"BACKUP_SECRET_DB_PASSWORD": "pw-1"})
    assert secrets.get("db-password") == "pw-1"


def test_environment_prefix_is_configurable() -> None:
    assert EnvironmentSecrets({"X_SENDGRID_KEY": "k"}, prefix="X_").get("sendgrid-key") == "k"


def test_missing_environment_secret_names_the_variable_to_set() -> None:
    with pytest.raises(SecretNotFoundError, match="BACKUP_SECRET_DB_PASSWORD"):
        EnvironmentSecrets({"BACKUP_SECRET_OTHER": "other-value-5521"}).get("db-password")


def test_empty_environment_secret_counts_as_missing() -> None:
    with pytest.raises(SecretNotFoundError):
        EnvironmentSecrets({"BACKUP_SECRET_DB_PASSWORD": ""}).get("db-password")


def test_environment_secrets_refuse_to_store_without_showing_the_value() -> None:
    with pytest.raises(SecretError, match="read-only") as caught:
        EnvironmentSecrets({}).add_version("drive-oauth", "value-never-shown-9931")
    assert "value-never-shown-9931" not in str(caught.value)


def test_file_secret_drops_the_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "db-password").write_text("pw-from-file\n")
    assert FileSecrets(tmp_path).get("db-password") == "pw-from-file"


def test_missing_file_secret_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SecretNotFoundError, match=str(tmp_path / "db-password")):
        FileSecrets(tmp_path).get("db-password")


def test_stored_file_secret_is_private_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    FileSecrets(tmp_path).add_version("drive-oauth", "token")
    assert stat.S_IMODE((tmp_path / "drive-oauth").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["drive-oauth"]


def test_layered_secrets_fall_back_and_store_into_the_first_layer(tmp_path: Path) -> None:
    environment = EnvironmentSecrets({"BACKUP_SECRET_SENDGRID_KEY": "from-env"})
    layered = LayeredSecrets(FileSecrets(tmp_path), environment)
    assert layered.get("sendgrid-key") == "from-env"
    layered.add_version("sendgrid-key", "from-file")
    assert layered.get("sendgrid-key") == "from-file"
    assert (tmp_path / "sendgrid-key").read_text() == "from-file"


def test_layered_miss_says_every_place_that_was_tried(tmp_path: Path) -> None:
    layered = LayeredSecrets(FileSecrets(tmp_path), EnvironmentSecrets({}))
    with pytest.raises(SecretNotFoundError) as caught:
        layered.get("db-password")
    assert str(tmp_path / "db-password") in str(caught.value)
    assert "BACKUP_SECRET_DB_PASSWORD" in str(caught.value)
