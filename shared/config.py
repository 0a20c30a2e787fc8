"""The service's configuration: one typed object built once from the environment.

Nothing else in the code reads `os.environ`; every setting below is documented in README.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.dburl import DatabaseURL, parse_database_url
from shared.errors import ConfigurationError
from shared.models import Compression

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Config:
    database_url: DatabaseURL | None
    home: Path
    compression: Compression = Compression.GZIP
    compression_level: int | None = None
    strip_definers: bool = False
    lock_ttl_seconds: int = 600
    pg_bin_dir: Path | None = None

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite3"

    @property
    def local_backup_dir(self) -> Path:
        return self.home / "files"

    def require_database(self) -> DatabaseURL:
        if self.database_url is None:
            raise ConfigurationError(
                "BACKUP_DATABASE_URL is not set; set it to the database to back up, "
                "e.g. mysql://USER:PASSWORD@HOST:3306/DATABASE"
            )
        return self.database_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        raw_url = environ.get("BACKUP_DATABASE_URL", "").strip()
        url = parse_database_url(raw_url) if raw_url else None
        if url is not None and "BACKUP_DATABASE_PASSWORD" in environ:
            url = url.with_password(environ["BACKUP_DATABASE_PASSWORD"])
        compression = _choice(environ, "BACKUP_COMPRESSION", Compression, Compression.GZIP)
        return cls(
            database_url=url,
            home=Path(environ.get("BACKUP_HOME", "").strip() or "./.backups").expanduser(),
            compression=compression,
            compression_level=_optional_int(environ, "BACKUP_COMPRESSION_LEVEL"),
            strip_definers=_bool(environ, "BACKUP_STRIP_DEFINERS", False),
            lock_ttl_seconds=_int(environ, "BACKUP_LOCK_TTL_SECONDS", 600, minimum=30),
            pg_bin_dir=_optional_path(environ, "BACKUP_PG_BIN_DIR"),
        )


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    if name not in environ:
        return default
    value = environ[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {environ[name]!r}")


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    value = _optional_int(environ, name)
    if value is None:
        return default
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _optional_int(environ: Mapping[str, str], name: str) -> int | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {text!r}") from None


def _optional_path(environ: Mapping[str, str], name: str) -> Path | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ConfigurationError(f"{name} must be an existing folder, got {text!r}")
    return path


def _choice[E: Compression](environ: Mapping[str, str], name: str, enum: type[E], default: E) -> E:
    text = environ.get(name, "").strip().lower()
    if not text:
        return default
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(str(member) for member in enum)
        raise ConfigurationError(f"{name} must be one of {allowed}, got {text!r}") from None
