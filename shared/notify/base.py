"""The `Notifier` seam: one `send(notification)` and a builder for each kind of failure worth a mail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from shared.models import DatabaseInfo, StorageKind
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
    variant: str | None = None
    """Which wording of the kind's mail fits what happened: the `StorageKind` that failed a degraded
    upload, or the `DatabaseAfter` of a failed restore. None: the kind's wording for every case."""


class DatabaseAfter(StrEnum):
    """What became of the database when a restore failed."""

    UNCHANGED = "unchanged"
    """The restore failed (or stopped) before it changed the database."""
    PUT_BACK = "put_back"
    """The restore changed the database, and the pre-restore backup was put back."""
    MAY_BE_INCOMPLETE = "may_be_incomplete"
    """The restore changed the database, and it was not put back (that failed, or the run was killed)."""


def database_after(changed: bool, put_back: bool) -> DatabaseAfter:
    """The database's state after a failed restore: whether the restore changed it, and whether the
    pre-restore backup was then put back."""
    if not changed:
        return DatabaseAfter.UNCHANGED
    return DatabaseAfter.PUT_BACK if put_back else DatabaseAfter.MAY_BE_INCOMPLETE


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
    after: DatabaseAfter | None = None,
) -> Notification:
    """`after`: what became of the database; None leaves that to the error's text."""
    facts = {"pre-restore backup": pre_restore_backup_id} if pre_restore_backup_id else {}
    kind = NotificationKind.RESTORE_FAILED
    variant = str(after) if after is not None else None
    return Notification(kind, database, _utc(occurred_at), describe_error(error), backup_id, facts, variant)


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
    failed: StorageKind | None = None,
) -> Notification:
    """A backup that completed although storing it in `failed` did (None: the error names the storage)."""
    return Notification(
        NotificationKind.DRIVE_UPLOAD_DEGRADED,
        database,
        _utc(occurred_at),
        describe_error(error),
        backup_id,
        {"copy kept in": kept_at},
        str(failed) if failed is not None else None,
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
