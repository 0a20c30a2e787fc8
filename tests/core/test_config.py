"""Configuration: defaults work, each malformed setting gives one message naming the variable."""

import json
from pathlib import Path

import pytest

from shared.config import Config
from shared.errors import ConfigurationError
from shared.models import Compression


def test_defaults_need_nothing() -> None:
    config = Config.from_env({})
    assert config.database_url is None
    assert config.home == Path(".backups")
    assert config.compression is Compression.GZIP
    with pytest.raises(ConfigurationError, match="BACKUP_DATABASE_URL is not set"):
        config.require_database()


def test_time_limit_is_off_unless_set() -> None:
    assert Config.from_env({}).time_limit_seconds is None
    assert Config.from_env({"BACKUP_TIME_LIMIT_SECONDS": "3300"}).time_limit_seconds == 3300


def test_password_variable_overrides_url_password() -> None:
    config = Config.from_env(
        {"BACKUP_DATABASE_URL": "mysql://app:old@h/shop", "BACKUP_DATABASE_PASSWORD": "new-secret"}
    )
    assert config.require_database().password == "new-secret"
    assert "new-secret" not in repr(config)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BACKUP_DATABASE_URL", "ftp://x@y/z"),
        ("BACKUP_COMPRESSION", "rar"),
        ("BACKUP_COMPRESSION_LEVEL", "high"),
        ("BACKUP_COMPRESSION_LEVEL", "9"),
        ("BACKUP_COMPRESSION_LEVEL", "-1"),
        ("BACKUP_STRIP_DEFINERS", "maybe"),
        ("BACKUP_LOCK_TTL_SECONDS", "5"),
        ("BACKUP_MYSQL_READERS", "0"),
        ("BACKUP_MYSQL_READERS", "9"),
        ("BACKUP_POSTGRES_RESTORE_CONNECTIONS", "0"),
        ("BACKUP_POSTGRES_RESTORE_CONNECTIONS", "9"),
        ("BACKUP_POSTGRES_RESTORE_CONNECTIONS", "two"),
        ("BACKUP_PG_BIN_DIR", "/no/such/folder"),
        ("BACKUP_RESTORE_LOCK_WAIT_SECONDS", "0"),
        ("BACKUP_RESTORE_LOCK_WAIT_SECONDS", "3601"),
        ("BACKUP_TIME_LIMIT_SECONDS", "0"),
        ("BACKUP_TIME_LIMIT_SECONDS", "1h"),
    ],
)
def test_malformed_setting_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Config.from_env({name: value})
    assert name in str(info.value)


@pytest.mark.parametrize(
    "permissions",
    [
        '{"backups.view": ["group:devs@example.com"]}',
        '{"backups.admin": ["user:a@example.com"]}',
        '{"backups.view": "user:a@example.com"}',
        "[1, 2]",
        "{not json",
    ],
)
def test_bad_permission_maps_are_refused(permissions: str) -> None:
    with pytest.raises(ConfigurationError, match="BACKUP_PERMISSIONS"):
        Config.from_env({"BACKUP_PERMISSIONS": permissions})


def test_auth_cannot_be_disabled_in_cloud_run() -> None:
    assert Config.from_env({"BACKUP_AUTH_DISABLED": "true"}).auth.disabled
    with pytest.raises(ConfigurationError, match="K_SERVICE"):
        Config.from_env({"BACKUP_AUTH_DISABLED": "true", "K_SERVICE": "list-backups"})


def test_user_service_account_and_domain_members_are_accepted() -> None:
    members = ["user:a@example.com", "serviceAccount:sa@p.iam.gserviceaccount.com", "domain:example.com"]
    config = Config.from_env({"BACKUP_PERMISSIONS": json.dumps({"backups.view": members})})
    assert config.auth.permissions == {"backups.view": tuple(members)}


def test_compression_level_is_checked_against_its_compression() -> None:
    zstd_9 = Config.from_env({"BACKUP_COMPRESSION": "zstd", "BACKUP_COMPRESSION_LEVEL": "9"})
    assert zstd_9.compression_level == 9
    with pytest.raises(ConfigurationError, match="BACKUP_COMPRESSION_LEVEL: zstd compression level"):
        Config.from_env({"BACKUP_COMPRESSION": "zstd", "BACKUP_COMPRESSION_LEVEL": "23"})


def test_catalog_timeout_is_30_seconds_unless_set() -> None:
    assert Config.from_env({}).catalog_timeout_seconds == 30
    assert Config.from_env({"BACKUP_CATALOG_TIMEOUT_SECONDS": " 5 "}).catalog_timeout_seconds == 5
    assert Config.from_env({"BACKUP_CATALOG_TIMEOUT_SECONDS": "0.5"}).catalog_timeout_seconds == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "0.0", "thirty", "30s", "nan", "inf"])
def test_catalog_timeout_must_be_a_positive_number_of_seconds(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Config.from_env({"BACKUP_CATALOG_TIMEOUT_SECONDS": value})
    assert "BACKUP_CATALOG_TIMEOUT_SECONDS" in str(info.value)
    assert "number of seconds" in str(info.value)
