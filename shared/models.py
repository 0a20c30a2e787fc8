"""The records the service keeps: backups, their settings and the audit log (seed 1.1–1.6)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class BackupStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class BackupSource(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"
    CLI = "cli"
    PRE_RESTORE = "pre_restore"
    IMPORT = "import"


class Compression(StrEnum):
    GZIP = "gzip"
    ZSTD = "zstd"
    NONE = "none"


class StorageKind(StrEnum):
    LOCAL = "local"
    DRIVE = "drive"


@dataclass
class StorageLocation:
    """One stored copy of a backup file: which storage holds it and its reference there."""

    kind: StorageKind
    ref: str
    """Local: the path relative to the storage root. Drive: the file id."""


@dataclass
class DatabaseInfo:
    """Which database a backup is of. Never holds a password."""

    engine: str
    name: str
    host: str = ""
    server_version: str = ""


@dataclass
class Backup:
    id: str
    filename: str
    database: DatabaseInfo
    source: BackupSource
    created_by: str
    created_at: datetime
    status: BackupStatus = BackupStatus.PENDING
    compression: Compression = Compression.GZIP
    file_size: int | None = None
    """Bytes stored (compressed)."""
    sha256: str | None = None
    """SHA-256 of the stored bytes, hex."""
    raw_size: int | None = None
    """Bytes of SQL before compression."""
    is_protected: bool = False
    completed_at: datetime | None = None
    error_message: str | None = None
    locations: list[StorageLocation] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)
    """Rows per table at backup time."""
    warnings: list[str] = field(default_factory=list)
    """Non-fatal problems, e.g. a storage target that failed while another kept the file."""
    run_lock: str | None = None
    """The database lock held by the run that writes this record. A pending or running record whose lock
    another run holds was left by a run that stopped without finishing (see `services.interrupted`)."""
    restoring: str | None = None
    """On a pre-restore backup: the id of the backup its restore loads, from when the pre-restore backup
    starts until that restore ends (or the pre-restore backup fails)."""

    def location(self, kind: StorageKind) -> StorageLocation | None:
        return next((loc for loc in self.locations if loc.kind == kind), None)

    @property
    def is_local(self) -> bool:
        return self.location(StorageKind.LOCAL) is not None

    @property
    def is_on_drive(self) -> bool:
        return self.location(StorageKind.DRIVE) is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; datetimes as ISO 8601 strings."""
        data = asdict(self)
        for internal in ("run_lock", "restoring"):
            del data[internal]
        for key in ("created_at", "completed_at"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        data["locations"] = [{"kind": str(loc.kind), "ref": loc.ref} for loc in self.locations]
        data["status"] = str(self.status)
        data["source"] = str(self.source)
        data["compression"] = str(self.compression)
        data["is_local"] = self.is_local
        data["is_on_drive"] = self.is_on_drive
        return data


class ScheduleFrequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    CUSTOM = "custom"


@dataclass
class BackupSettings:
    """The service's single settings record (seed 1.2). Defaults work with no further setup."""

    schedule_enabled: bool = False
    schedule_frequency: ScheduleFrequency = ScheduleFrequency.DAILY
    schedule_time: str = "02:00"
    schedule_weekday: int = 0
    """0 = Monday (used with weekly)."""
    cron_expression: str | None = None
    time_zone: str = "UTC"
    retention_daily: int = 7
    retention_weekly: int = 4
    retention_monthly: int = 6
    google_drive_enabled: bool = False
    google_drive_folder_id: str | None = None
    notification_emails: list[str] = field(default_factory=list)
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule_frequency"] = str(self.schedule_frequency)
        data["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return data


class AuditAction(StrEnum):
    CREATE = "create"
    DELETE = "delete"
    DOWNLOAD = "download"
    RESTORE = "restore"
    PROTECT = "protect"
    UNPROTECT = "unprotect"
    IMPORT = "import"
    SETTINGS_CHANGE = "settings_change"
    CLEANUP = "cleanup"
    ACCESS_DENIED = "access_denied"
    TEST_DATABASE = "test_database"
    TEST_DRIVE = "test_drive"


@dataclass
class BackupLog:
    """One audit entry (seed 1.3/1.6): who did what to which backup, and how it ended."""

    actor: str
    action: AuditAction
    created_at: datetime
    backup_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "actor": self.actor,
            "action": str(self.action),
            "backup_id": self.backup_id,
            "details": self.details,
            "created_at": self.created_at.isoformat(),
        }
