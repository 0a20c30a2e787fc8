"""Turn `Backup`, `BackupSettings` and `BackupLog` into plain dicts and back, for the catalogs to store."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from shared.errors import InvalidInputError, RecordChangedError
from shared.models import (
    AuditAction,
    Backup,
    BackupLog,
    BackupSettings,
    BackupSource,
    BackupStatus,
    Compression,
    DatabaseInfo,
    ScheduleFrequency,
    StorageKind,
    StorageLocation,
)


def utc(value: datetime, what: str) -> datetime:
    """The same instant in UTC; a naive datetime is refused because its zone would be a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInputError(f"{what} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored datetime as a plain `datetime` in UTC (drops subclasses such as Firestore's)."""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return datetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=UTC,
    )


def _optional_utc(value: datetime | None, what: str) -> datetime | None:
    return None if value is None else utc(value, what)


MAX_ID_LENGTH = 200


def check_backup_id(backup_id: str) -> str:
    """A backup id must also work as a Firestore document id: no slash, not `.`/`..`, not `__x__`."""
    if (
        not backup_id
        or "/" in backup_id
        or backup_id in (".", "..")
        or (backup_id.startswith("__") and backup_id.endswith("__"))
        or len(backup_id.encode()) > MAX_ID_LENGTH
    ):
        raise InvalidInputError(
            f"backup id {backup_id!r} is not usable: use up to {MAX_ID_LENGTH} bytes without '/', "
            "other than '.', '..' or '__name__'-like names"
        )
    return backup_id


def backup_to_record(backup: Backup) -> dict[str, Any]:
    """Plain values only: enums as strings, datetimes as aware UTC datetimes."""
    return {
        "id": check_backup_id(backup.id),
        "filename": backup.filename,
        "database": {
            "engine": backup.database.engine,
            "name": backup.database.name,
            "host": backup.database.host,
            "server_version": backup.database.server_version,
        },
        "source": str(backup.source),
        "created_by": backup.created_by,
        "created_at": utc(backup.created_at, "created_at"),
        "status": str(backup.status),
        "compression": str(backup.compression),
        "file_size": backup.file_size,
        "sha256": backup.sha256,
        "raw_size": backup.raw_size,
        "is_protected": backup.is_protected,
        "completed_at": _optional_utc(backup.completed_at, "completed_at"),
        "error_message": backup.error_message,
        "locations": [{"kind": str(loc.kind), "ref": loc.ref} for loc in backup.locations],
        "table_rows": dict(backup.table_rows),
        "warnings": list(backup.warnings),
        "run_lock": backup.run_lock,
        "restoring": backup.restoring,
    }


def backup_from_record(record: dict[str, Any]) -> Backup:
    database = record["database"]
    completed_at = record.get("completed_at")
    return Backup(
        id=record["id"],
        filename=record["filename"],
        database=DatabaseInfo(
            engine=database["engine"],
            name=database["name"],
            host=database.get("host", ""),
            server_version=database.get("server_version", ""),
        ),
        source=BackupSource(record["source"]),
        created_by=record["created_by"],
        created_at=as_utc(record["created_at"]),
        status=BackupStatus(record["status"]),
        compression=Compression(record["compression"]),
        file_size=record.get("file_size"),
        sha256=record.get("sha256"),
        raw_size=record.get("raw_size"),
        is_protected=bool(record.get("is_protected", False)),
        completed_at=as_utc(completed_at) if completed_at is not None else None,
        error_message=record.get("error_message"),
        locations=[
            StorageLocation(kind=StorageKind(loc["kind"]), ref=loc["ref"])
            for loc in record.get("locations") or []
        ],
        table_rows={str(table): int(rows) for table, rows in (record.get("table_rows") or {}).items()},
        warnings=[str(warning) for warning in record.get("warnings") or []],
        run_lock=record.get("run_lock"),
        restoring=record.get("restoring"),
    )


def settings_to_record(settings: BackupSettings) -> dict[str, Any]:
    return {
        "schedule_enabled": settings.schedule_enabled,
        "schedule_frequency": str(settings.schedule_frequency),
        "schedule_time": settings.schedule_time,
        "schedule_weekday": settings.schedule_weekday,
        "cron_expression": settings.cron_expression,
        "time_zone": settings.time_zone,
        "retention_daily": settings.retention_daily,
        "retention_weekly": settings.retention_weekly,
        "retention_monthly": settings.retention_monthly,
        "google_drive_enabled": settings.google_drive_enabled,
        "google_drive_folder_id": settings.google_drive_folder_id,
        "notification_emails": list(settings.notification_emails),
        "updated_at": _optional_utc(settings.updated_at, "updated_at"),
    }


def settings_from_record(record: dict[str, Any]) -> BackupSettings:
    """Fields missing from an older record keep their defaults."""
    defaults = BackupSettings()
    updated_at = record.get("updated_at")
    return BackupSettings(
        schedule_enabled=bool(record.get("schedule_enabled", defaults.schedule_enabled)),
        schedule_frequency=ScheduleFrequency(record.get("schedule_frequency", defaults.schedule_frequency)),
        schedule_time=record.get("schedule_time", defaults.schedule_time),
        schedule_weekday=int(record.get("schedule_weekday", defaults.schedule_weekday)),
        cron_expression=record.get("cron_expression", defaults.cron_expression),
        time_zone=record.get("time_zone", defaults.time_zone),
        retention_daily=int(record.get("retention_daily", defaults.retention_daily)),
        retention_weekly=int(record.get("retention_weekly", defaults.retention_weekly)),
        retention_monthly=int(record.get("retention_monthly", defaults.retention_monthly)),
        google_drive_enabled=bool(record.get("google_drive_enabled", defaults.google_drive_enabled)),
        google_drive_folder_id=record.get("google_drive_folder_id", defaults.google_drive_folder_id),
        notification_emails=[str(email) for email in record.get("notification_emails") or []],
        updated_at=as_utc(updated_at) if updated_at is not None else None,
    )


def log_to_record(entry: BackupLog) -> dict[str, Any]:
    """Details become plain JSON values (what JSON cannot hold becomes its text), in every catalog."""
    return {
        "id": entry.id,
        "actor": entry.actor,
        "action": str(entry.action),
        "backup_id": entry.backup_id,
        "details": json.loads(json.dumps(entry.details, default=str)),
        "created_at": utc(entry.created_at, "created_at"),
    }


def log_from_record(record: dict[str, Any]) -> BackupLog:
    return BackupLog(
        id=record["id"],
        actor=record["actor"],
        action=AuditAction(record["action"]),
        backup_id=record.get("backup_id"),
        details=dict(record.get("details") or {}),
        created_at=as_utc(record["created_at"]),
    )


BACKUP_ATTRIBUTES = frozenset(field.name for field in dataclasses.fields(Backup))


def check_writable(only: Collection[str]) -> None:
    """Raise `ValueError` unless every name in `only` is an attribute of a backup other than its id."""
    if unknown := set(only) - (BACKUP_ATTRIBUTES - {"id"}):
        raise ValueError(f"not a writable attribute of a backup: {', '.join(sorted(unknown))}")


def written_part(record: dict[str, Any], only: Collection[str]) -> dict[str, Any]:
    """The part of a backup's `record` that `Catalog.update_backup(..., only=only)` writes."""
    check_writable(only)
    return {name: record[name] for name in only} if only else record


def require_status(backup_id: str, stored_status: str, if_status: Collection[BackupStatus]) -> None:
    """Raise `RecordChangedError` unless `stored_status` is one of `if_status` (any when empty)."""
    if if_status and stored_status not in {str(status) for status in if_status}:
        expected = " or ".join(sorted(str(status) for status in if_status))
        raise RecordChangedError(
            f"backup {backup_id} is {stored_status} now, not {expected}: another run changed its record"
        )
