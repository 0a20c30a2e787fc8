"""The service's configuration: one typed object built once from the environment.

Nothing else in the code reads `os.environ`; every setting below is documented in README.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.compression import make_compressor
from shared.dburl import DatabaseURL, parse_database_url
from shared.engines.base import RESTORE_LOCK_WAIT_SECONDS
from shared.errors import ConfigurationError, InvalidInputError
from shared.models import Compression, StorageKind
from shared.scheduler_retries import TERRAFORM_DEFAULT, RetryBackoff
from shared.time_limit import SETTING as TIME_LIMIT_SETTING

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


PERMISSIONS = (
    "backups.view",
    "backups.create",
    "backups.delete",
    "backups.restore",
    "backups.download",
    "backups.manage-settings",
    "backups.run-scheduled",
)
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
_MEMBER_PREFIXES = ("user:", "serviceAccount:", "domain:")
"""The function checks the caller's verified e-mail against these; an ID token names no groups, so a
`group:` member could never pass the check and is refused."""


@dataclass(frozen=True)
class DriveConfig:
    folder_id: str | None = None
    """Fallback when the settings name no folder."""
    endpoint: str | None = None
    """Drive API base URL override, e.g. a local fake's `https://127.0.0.1:PORT/drive/v3/`."""
    ca_certs: Path | None = None
    """CA bundle to trust for `endpoint` (tests)."""
    credentials: str = "default"
    """`default`: the function's service account; `oauth`: a refresh token kept in `oauth_secret`."""
    oauth_secret: str = "drive-oauth"
    retry_attempts: int = 7
    retry_base_delay: float = 1.0
    """Seconds before the first retry; doubles each time (with jitter), at most 32 s."""


@dataclass(frozen=True)
class AuthConfig:
    audiences: tuple[str, ...] = ()
    """Accepted ID-token audiences: the function's URL, and e.g. gcloud's client id for people's tokens."""
    certs_url: str = GOOGLE_CERTS_URL
    permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """permission → members (`user:a@b.c`, `serviceAccount:x@p.iam.gserviceaccount.com`)."""
    disabled: bool = False
    """Local development only; refused when running in Cloud Run."""


@dataclass(frozen=True)
class SchedulerConfig:
    backup_job: str | None = None
    """Full job name, projects/P/locations/L/jobs/J, that the settings keep in step."""
    cleanup_job: str | None = None
    endpoint: str | None = None
    max_retries: int = 3
    """The jobs' retry count (Terraform's retry_config); the failure mail waits for the last attempt."""
    backoff: RetryBackoff = TERRAFORM_DEFAULT
    """The jobs' retry backoff (Terraform's retry_config): it dates the attempts when nothing counts them."""


@dataclass(frozen=True)
class Config:
    database_url: DatabaseURL | None
    home: Path
    compression: Compression = Compression.GZIP
    compression_level: int | None = None
    strip_definers: bool = False
    mysql_readers: int = 3
    """Connections that read a MySQL database's large tables at once; 1 reads through one, with no lock."""
    postgres_restore_connections: int = 1
    """Connections that load a PostgreSQL restore's large tables at once; 1 restores in one transaction."""
    restore_lock_wait_seconds: int = RESTORE_LOCK_WAIT_SECONDS
    """How long a restore waits for a table another session holds before it fails, naming the session."""
    time_limit_seconds: int | None = None
    """How long a backup or restore may run before it stops and fails cleanly; None: no limit. Infra sets it
    to each function's timeout less a margin (see `shared.time_limit`)."""
    lock_ttl_seconds: int = 600
    pg_bin_dir: Path | None = None
    catalog: str = "sqlite"
    gcp_project: str | None = None
    firestore_database: str = "(default)"
    firestore_prefix: str = ""
    firestore_emulator_host: str | None = None
    catalog_timeout_seconds: float = 30.0
    """How long one call to the Firestore catalog may take, its retries included, before it fails."""
    storage_targets: tuple[StorageKind, ...] = (StorageKind.LOCAL,)
    drive: DriveConfig = field(default_factory=DriveConfig)
    secrets: str = "env"
    """`env` (BACKUP_SECRET_<NAME> variables), `files` (one file per secret in `secrets_dir`) or
    `secret-manager`."""
    secrets_dir: Path | None = None
    secret_manager_endpoint: str | None = None
    database_password_secret: str | None = None
    notifier: str = "log"
    sendgrid_api_key_secret: str = "sendgrid-api-key"
    sendgrid_host: str | None = None
    notify_from: str = "backups@localhost"
    auth: AuthConfig = field(default_factory=AuthConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    running_in_cloud: bool = False
    """True inside Cloud Run / Cloud Functions (K_SERVICE is set)."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """The environment the configuration came from, for the `env` secrets backend only."""

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

    def require_project(self, purpose: str) -> str:
        if not self.gcp_project:
            raise ConfigurationError(
                f"BACKUP_GCP_PROJECT is not set; {purpose} needs the Google Cloud project id"
            )
        return self.gcp_project

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        raw_url = environ.get("BACKUP_DATABASE_URL", "").strip()
        url = parse_database_url(raw_url) if raw_url else None
        if url is not None and "BACKUP_DATABASE_PASSWORD" in environ:
            url = url.with_password(environ["BACKUP_DATABASE_PASSWORD"])
        in_cloud = bool(environ.get("K_SERVICE", "").strip())
        auth = AuthConfig(
            audiences=_list(environ, "BACKUP_AUTH_AUDIENCE"),
            certs_url=_text(environ, "BACKUP_AUTH_CERTS_URL") or GOOGLE_CERTS_URL,
            permissions=_permissions(environ),
            disabled=_bool(environ, "BACKUP_AUTH_DISABLED", False),
        )
        if auth.disabled and in_cloud:
            raise ConfigurationError(
                "BACKUP_AUTH_DISABLED is set while running in Cloud Run (K_SERVICE is set); "
                "authentication can only be switched off for local development"
            )
        compression = _choice(environ, "BACKUP_COMPRESSION", Compression, Compression.GZIP)
        return cls(
            database_url=url,
            home=Path(environ.get("BACKUP_HOME", "").strip() or "./.backups").expanduser(),
            compression=compression,
            compression_level=_compression_level(environ, compression),
            strip_definers=_bool(environ, "BACKUP_STRIP_DEFINERS", False),
            mysql_readers=_int(environ, "BACKUP_MYSQL_READERS", 3, minimum=1, maximum=8),
            postgres_restore_connections=_int(
                environ, "BACKUP_POSTGRES_RESTORE_CONNECTIONS", 1, minimum=1, maximum=8
            ),
            restore_lock_wait_seconds=_int(
                environ, "BACKUP_RESTORE_LOCK_WAIT_SECONDS", RESTORE_LOCK_WAIT_SECONDS, 1, 3600
            ),
            time_limit_seconds=_optional_positive(environ, TIME_LIMIT_SETTING),
            lock_ttl_seconds=_int(environ, "BACKUP_LOCK_TTL_SECONDS", 600, minimum=30),
            pg_bin_dir=_optional_path(environ, "BACKUP_PG_BIN_DIR"),
            catalog=_one_of(environ, "BACKUP_CATALOG", ("sqlite", "firestore"), "sqlite"),
            gcp_project=_text(environ, "BACKUP_GCP_PROJECT"),
            firestore_database=_text(environ, "BACKUP_FIRESTORE_DATABASE") or "(default)",
            firestore_prefix=_text(environ, "BACKUP_FIRESTORE_PREFIX") or "",
            firestore_emulator_host=_text(environ, "BACKUP_FIRESTORE_EMULATOR_HOST"),
            catalog_timeout_seconds=_positive_float(environ, "BACKUP_CATALOG_TIMEOUT_SECONDS", 30.0),
            storage_targets=_storage_targets(environ),
            drive=DriveConfig(
                folder_id=_text(environ, "BACKUP_DRIVE_FOLDER_ID"),
                endpoint=_text(environ, "BACKUP_DRIVE_ENDPOINT"),
                ca_certs=_optional_file(environ, "BACKUP_DRIVE_CA_CERTS"),
                credentials=_one_of(environ, "BACKUP_DRIVE_CREDENTIALS", ("default", "oauth"), "default"),
                oauth_secret=_text(environ, "BACKUP_DRIVE_OAUTH_SECRET") or "drive-oauth",
                retry_attempts=_int(environ, "BACKUP_DRIVE_RETRY_ATTEMPTS", 7, minimum=1),
                retry_base_delay=_float(environ, "BACKUP_DRIVE_RETRY_BASE_DELAY", 1.0),
            ),
            secrets=_one_of(environ, "BACKUP_SECRETS", ("env", "files", "secret-manager"), "env"),
            secrets_dir=_optional_path(environ, "BACKUP_SECRETS_DIR"),
            secret_manager_endpoint=_text(environ, "BACKUP_SECRET_MANAGER_ENDPOINT"),
            database_password_secret=_text(environ, "BACKUP_DATABASE_PASSWORD_SECRET"),
            notifier=_one_of(environ, "BACKUP_NOTIFIER", ("log", "sendgrid"), "log"),
            sendgrid_api_key_secret=_text(environ, "BACKUP_SENDGRID_API_KEY_SECRET") or "sendgrid-api-key",
            sendgrid_host=_text(environ, "BACKUP_SENDGRID_HOST"),
            notify_from=_text(environ, "BACKUP_NOTIFY_FROM") or "backups@localhost",
            auth=auth,
            scheduler=SchedulerConfig(
                backup_job=_text(environ, "BACKUP_SCHEDULER_BACKUP_JOB"),
                cleanup_job=_text(environ, "BACKUP_SCHEDULER_CLEANUP_JOB"),
                endpoint=_text(environ, "BACKUP_SCHEDULER_ENDPOINT"),
                max_retries=_int(environ, "BACKUP_SCHEDULER_MAX_RETRIES", 3, minimum=0),
                backoff=RetryBackoff(
                    min_seconds=_int(environ, "BACKUP_SCHEDULER_MIN_BACKOFF_SECONDS", 60, minimum=1),
                    max_seconds=_int(environ, "BACKUP_SCHEDULER_MAX_BACKOFF_SECONDS", 600, minimum=1),
                    max_doublings=_int(environ, "BACKUP_SCHEDULER_MAX_DOUBLINGS", 3, minimum=0),
                ),
            ),
            running_in_cloud=in_cloud,
            environ=dict(environ),
        )


def _text(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name, "").strip() or None


def _list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in environ.get(name, "").split(",") if item.strip())


def _one_of(environ: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (environ.get(name, "").strip() or default).lower()
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _storage_targets(environ: Mapping[str, str]) -> tuple[StorageKind, ...]:
    text = environ.get("BACKUP_STORAGE", "").strip() or "local"
    targets: list[StorageKind] = []
    for item in (part.strip().lower() for part in text.split(",")):
        try:
            kind = StorageKind(item)
        except ValueError:
            raise ConfigurationError(
                f"BACKUP_STORAGE lists {item!r}; use local, drive or local,drive"
            ) from None
        if kind not in targets:
            targets.append(kind)
    return tuple(targets)


def _permissions(environ: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    text = environ.get("BACKUP_PERMISSIONS", "").strip()
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"BACKUP_PERMISSIONS is not valid JSON ({exc.msg} at {exc.pos})") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(
            'BACKUP_PERMISSIONS must be a JSON object: {"backups.view": ["user:a@b.c"], ...}'
        )
    result: dict[str, tuple[str, ...]] = {}
    for permission, members in raw.items():
        if permission not in PERMISSIONS:
            raise ConfigurationError(
                f"BACKUP_PERMISSIONS names unknown permission {permission!r}; known: {', '.join(PERMISSIONS)}"
            )
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ConfigurationError(f"BACKUP_PERMISSIONS[{permission!r}] must be a list of member strings")
        bad = [m for m in members if not m.startswith(_MEMBER_PREFIXES)]
        if bad:
            raise ConfigurationError(
                f"BACKUP_PERMISSIONS[{permission!r}] has members without a user:, serviceAccount: or "
                f"domain: prefix: {bad}"
            )
        result[permission] = tuple(members)
    return result


def _optional_file(environ: Mapping[str, str], name: str) -> Path | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigurationError(f"{name} must be an existing file, got {text!r}")
    return path


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    if name not in environ:
        return default
    value = environ[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {environ[name]!r}")


def _int(
    environ: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    value = _optional_int(environ, name)
    if value is None:
        return default
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigurationError(f"{name} must be at most {maximum}, got {value}")
    return value


def _optional_positive(environ: Mapping[str, str], name: str) -> int | None:
    value = _optional_int(environ, name)
    if value is not None and value < 1:
        raise ConfigurationError(f"{name} must be a whole number of seconds, at least 1, got {value}")
    return value


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise ConfigurationError(f"{name} must be a number of seconds, not negative; got {text!r}")
    return value


def _positive_float(environ: Mapping[str, str], name: str, default: float) -> float:
    value = _float(environ, name, default)
    if not math.isfinite(value) or value == 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value:g}")
    return value


def _optional_int(environ: Mapping[str, str], name: str) -> int | None:
    text = environ.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {text!r}") from None


def _compression_level(environ: Mapping[str, str], compression: Compression) -> int | None:
    """BACKUP_COMPRESSION_LEVEL, checked against BACKUP_COMPRESSION now rather than when a backup starts."""
    level = _optional_int(environ, "BACKUP_COMPRESSION_LEVEL")
    try:
        make_compressor(compression, level)
    except InvalidInputError as exc:
        raise ConfigurationError(f"BACKUP_COMPRESSION_LEVEL: {exc}") from None
    return level


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
