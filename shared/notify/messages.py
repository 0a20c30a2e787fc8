"""Turns a `Notification` into a mail: subject, plain text and HTML, every text redacted once more."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from shared.models import StorageKind
from shared.notify.base import DatabaseAfter, Notification, NotificationKind
from shared.redaction import redact

_HEADLINES = {
    NotificationKind.BACKUP_FAILED: "Backup failed",
    NotificationKind.RESTORE_FAILED: "Restore failed",
    NotificationKind.SCHEDULED_BACKUP_FAILED: "Scheduled backup failed",
    NotificationKind.DRIVE_UPLOAD_DEGRADED: "Backup not stored in one of its storages",
    NotificationKind.SCHEDULED_CLEANUP_FAILED: "Scheduled cleanup failed",
}

_WHAT_HAPPENED = {
    NotificationKind.BACKUP_FAILED: "A backup of the database did not complete. No new backup file was kept.",
    NotificationKind.RESTORE_FAILED: (
        "Restoring a backup into the database failed. The error below says whether the restore changed "
        "the database, and whether its data from before the restore was put back."
    ),
    NotificationKind.SCHEDULED_BACKUP_FAILED: (
        "The scheduled backup failed on its final retry. No backup was taken for this scheduled run."
    ),
    NotificationKind.DRIVE_UPLOAD_DEGRADED: (
        "The backup completed, but storing it in one of its storages failed (the error names which). "
        "The backup exists only in the location named below."
    ),
    NotificationKind.SCHEDULED_CLEANUP_FAILED: (
        "The scheduled retention cleanup failed on its final retry: backups the retention policy no longer "
        "keeps are still stored, and take up space until a cleanup deletes them."
    ),
}

_NEXT_STEPS = {
    NotificationKind.BACKUP_FAILED: (
        "Fix the cause named in the error (database reachable? backup user's password secret current?), "
        "then start a manual backup (`python main.py create`) and check that it completes."
    ),
    NotificationKind.RESTORE_FAILED: (
        "Check the database's contents first. Then verify the backup file (download it and compare its "
        "SHA-256 with the one in the backup list), fix the cause named in the error, and retry the restore."
    ),
    NotificationKind.SCHEDULED_BACKUP_FAILED: (
        "Fix the cause named in the error, then run a manual backup now (`python main.py create`) so the "
        "gap is closed; check the Cloud Scheduler job's history if several runs have failed."
    ),
    NotificationKind.DRIVE_UPLOAD_DEGRADED: (
        "Fix the storage the error names. Google Drive: run `python main.py drive-test` (invalid_grant: "
        "reconnect Google Drive in the settings; quota or permission errors: check the folder's sharing and "
        "the Drive's storage). Local storage: check the free space and permissions of the backup folder."
    ),
    NotificationKind.SCHEDULED_CLEANUP_FAILED: (
        "Fix the cause named in the error (a 403 from Drive: the runtime account needs the Manager role on "
        "the Shared Drive), then run `python main.py cleanup` and check that it reports no failures."
    ),
}


_Variant = tuple[NotificationKind, str]
"""A kind and a `Notification.variant` whose wording differs from the kind's."""

_DRIVE_FAILED = (NotificationKind.DRIVE_UPLOAD_DEGRADED, str(StorageKind.DRIVE))
_LOCAL_FAILED = (NotificationKind.DRIVE_UPLOAD_DEGRADED, str(StorageKind.LOCAL))
_RESTORE_UNCHANGED = (NotificationKind.RESTORE_FAILED, str(DatabaseAfter.UNCHANGED))
_RESTORE_PUT_BACK = (NotificationKind.RESTORE_FAILED, str(DatabaseAfter.PUT_BACK))
_RESTORE_INCOMPLETE = (NotificationKind.RESTORE_FAILED, str(DatabaseAfter.MAY_BE_INCOMPLETE))

_VARIANT_HEADLINES: dict[_Variant, str] = {
    _DRIVE_FAILED: "Backup not uploaded to Google Drive",
    _LOCAL_FAILED: "Backup not stored in local storage",
    _RESTORE_INCOMPLETE: "Restore failed, the database may be incomplete",
}

_VARIANT_WHAT_HAPPENED: dict[_Variant, str] = {
    _DRIVE_FAILED: (
        "The backup completed, but uploading it to Google Drive failed after retries. "
        "The backup exists only in the location named below."
    ),
    _LOCAL_FAILED: (
        "The backup completed, but writing it to local storage failed. "
        "The backup exists only in the location named below."
    ),
    _RESTORE_UNCHANGED: (
        "Restoring a backup into the database failed before it changed the database, so the database "
        "holds its data from before the restore."
    ),
    _RESTORE_PUT_BACK: (
        "Restoring a backup into the database failed after it had changed the database; the pre-restore "
        "backup was put back, so the database holds its data from before the restore."
    ),
    _RESTORE_INCOMPLETE: (
        "Restoring a backup into the database failed or was interrupted once it could have changed the "
        "database, and the database was NOT put back as it was: it may be incomplete. The pre-restore "
        "backup named below holds its data from before the restore, and is protected so retention keeps it."
    ),
}

_VARIANT_NEXT_STEPS: dict[_Variant, str] = {
    _DRIVE_FAILED: (
        "Run `python main.py drive-test`. If it reports invalid_grant, reconnect Google Drive in the "
        "settings; if it reports quota or permission errors, check the folder's sharing and the Drive's "
        "storage."
    ),
    _LOCAL_FAILED: (
        "Check the local backup folder (`files/` under BACKUP_HOME): free space, permissions, the disk "
        "mounted. Then take a backup (`python main.py create`) and check that no storage failed in its "
        "warnings."
    ),
    _RESTORE_INCOMPLETE: (
        "Check the database's contents now. If it is incomplete, restore the pre-restore backup named "
        "below as the error says. Then fix the cause named in the error and retry the restore."
    ),
}


def _wording(
    general: Mapping[NotificationKind, str],
    variants: Mapping[_Variant, str],
    kind: NotificationKind,
    variant: str | None,
) -> str:
    return variants.get((kind, variant or ""), general[kind])


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


def header_text(value: str) -> str:
    """`value` fit for a mail header: control characters and line or paragraph separators (CR and LF
    percent-decoded from a database URL, say) become spaces, so a header cannot be split or injected."""
    return "".join(" " if unicodedata.category(c) in {"Cc", "Zl", "Zp"} else c for c in value)


def headline(kind: NotificationKind, variant: str | None = None) -> str:
    return _wording(_HEADLINES, _VARIANT_HEADLINES, kind, variant)


def what_happened(kind: NotificationKind, variant: str | None = None) -> str:
    return _wording(_WHAT_HAPPENED, _VARIANT_WHAT_HAPPENED, kind, variant)


def next_step(kind: NotificationKind, variant: str | None = None) -> str:
    return _wording(_NEXT_STEPS, _VARIANT_NEXT_STEPS, kind, variant)


def database_label(notification: Notification) -> str:
    """Engine and name (and host when known). `DatabaseInfo` holds no password; redact anyway."""
    database = notification.database
    where = f" on {database.host}" if database.host else ""
    return redact(f"{database.engine} database {database.name!r}{where}")


def facts(notification: Notification) -> list[tuple[str, str]]:
    """The labelled lines of the mail, in order."""
    about_one_backup = notification.kind is not NotificationKind.SCHEDULED_CLEANUP_FAILED
    lines = [
        ("What happened", what_happened(notification.kind, notification.variant)),
        *(
            [("Backup", notification.backup_id or "(none: it failed before a backup record was made)")]
            if about_one_backup
            else []
        ),
        ("Database", database_label(notification)),
        ("When (UTC)", notification.occurred_at.isoformat(timespec="seconds")),
        *((label.capitalize(), value) for label, value in notification.facts.items()),
        ("Error", notification.error),
        ("What to do", next_step(notification.kind, notification.variant)),
    ]
    return [(label, redact(value)) for label, value in lines]


def render(notification: Notification) -> Mail:
    database = notification.database
    title = headline(notification.kind, notification.variant)
    subject = header_text(redact(f"[DB backup] {title}: {database.engine} {database.name}"))
    lines = facts(notification)
    text = "\n".join(f"{label}: {value}" for label, value in lines) + "\n"
    rows = "\n".join(
        f'<tr><th align="left" valign="top">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in lines
    )
    html = (
        f"<!doctype html><html><body><h2>{escape(title)}</h2>\n"
        f'<table cellpadding="4">\n{rows}\n</table></body></html>\n'
    )
    return Mail(subject=subject, text=text, html=html)
