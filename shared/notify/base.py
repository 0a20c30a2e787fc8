"""The `Notifier` seam: one `send(notification)` and a builder for each kind of failure worth a mail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from shared.models import DatabaseInfo
from shared.redaction import redact


class NotificationKind(StrEnum):
    BACKUP_FAILED = "backup_failed"
    RESTORE_FAILED = "restore_failed"
    SCHEDULED_BACKUP_FAILED = "scheduled_backup_failed"
    DRIVE_UPLOAD_DEGRADED = "drive_upload_degraded"
    SCHEDULED_CLEANUP_FAILED = "scheduled_cleanup_failed"


@dataclass(frozen=True)
class Notification:
    """What went wrong, where and when. `error` is redacted when built through the functions below."""

    kind: NotificationKind
    database: DatabaseInfo
    occurred_at: datetime
    error: str
    backup_id: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)
    """Extra context shown in the mail, e.g. the pre-restore backup id or the scheduled time."""


class Notifier(Protocol):
    def send(self, notification: Notification) -> None:
        """Deliver the notification; may raise. Wrap in `SafeNotifier` where a failure must not spread."""
        ...


def describe_error(error: BaseException | str) -> str:
    """The error as one redacted line of text: `TypeName: message` for exceptions."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return redact(text)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("notification times must be timezone-aware (use the Clock, which gives UTC)")
    return moment.astimezone(UTC)


def _as_utc_text(moment: datetime) -> str:
    """The moment in UTC; as given when it has no offset or UTC cannot hold it (year 1 or 9999)."""
    try:
        return _utc(moment).isoformat()
    except (ValueError, OverflowError):
        return moment.isoformat()


def backup_failed(
    database: DatabaseInfo, error: BaseException | str, occurred_at: datetime, backup_id: str | None = None
) -> Notification:
    return Notification(
        NotificationKind.BACKUP_FAILED, database, _utc(occurred_at), describe_error(error), backup_id
    )


def restore_failed(
    database: DatabaseInfo,
    error: BaseException | str,
    occurred_at: datetime,
    backup_id: str,
    pre_restore_backup_id: str | None = None,
) -> Notification:
    facts = {"pre-restore backup": pre_restore_backup_id} if pre_restore_backup_id else {}
    return Notification(
        NotificationKind.RESTORE_FAILED, database, _utc(occurred_at), describe_error(error), backup_id, facts
    )


def scheduled_backup_failed(
    database: DatabaseInfo,
    error: BaseException | str,
    occurred_at: datetime,
    scheduled_for: datetime | None = None,
    attempts: int | None = None,
    backup_id: str | None = None,
) -> Notification:
    facts: dict[str, str] = {}
    if scheduled_for is not None:
        facts["scheduled for"] = _as_utc_text(scheduled_for)
    if attempts is not None:
        facts["attempts"] = str(attempts)
    return Notification(
        NotificationKind.SCHEDULED_BACKUP_FAILED,
        database,
        _utc(occurred_at),
        describe_error(error),
        backup_id,
        facts,
    )


def drive_upload_degraded(
    database: DatabaseInfo,
    error: BaseException | str,
    occurred_at: datetime,
    backup_id: str,
    kept_at: str = "local storage",
) -> Notification:
    return Notification(
        NotificationKind.DRIVE_UPLOAD_DEGRADED,
        database,
        _utc(occurred_at),
        describe_error(error),
        backup_id,
        {"copy kept in": kept_at},
    )


def scheduled_cleanup_failed(
    database: DatabaseInfo,
    error: BaseException | str,
    occurred_at: datetime,
    not_deleted: Mapping[str, str],
    scheduled_for: datetime | None = None,
    attempts: int | None = None,
) -> Notification:
    """`not_deleted`: each backup id due for deletion that is still there, with why (empty when the run
    failed as a whole)."""
    facts: dict[str, str] = {}
    if scheduled_for is not None:
        facts["scheduled for"] = _as_utc_text(scheduled_for)
    if attempts is not None:
        facts["attempts"] = str(attempts)
    if not_deleted:
        facts["not deleted"] = "; ".join(f"{backup_id}: {why}" for backup_id, why in not_deleted.items())
    kind = NotificationKind.SCHEDULED_CLEANUP_FAILED
    return Notification(kind, database, _utc(occurred_at), describe_error(error), None, facts)
