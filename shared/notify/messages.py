"""Turns a `Notification` into a mail: subject, plain text and HTML, every text redacted once more."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html import escape

from shared.notify.base import Notification, NotificationKind
from shared.redaction import redact

_HEADLINES = {
    NotificationKind.BACKUP_FAILED: "Backup failed",
    NotificationKind.RESTORE_FAILED: "Restore failed",
    NotificationKind.SCHEDULED_BACKUP_FAILED: "Scheduled backup failed",
    NotificationKind.DRIVE_UPLOAD_DEGRADED: "Backup not uploaded to Google Drive",
    NotificationKind.SCHEDULED_CLEANUP_FAILED: "Scheduled cleanup failed",
}

_WHAT_HAPPENED = {
    NotificationKind.BACKUP_FAILED: "A backup of the database did not complete. No new backup file was kept.",
    NotificationKind.RESTORE_FAILED: (
        "Restoring a backup into the database failed. The service puts the pre-restore backup back "
        "when a restore fails, so the database should hold its data from before the restore."
    ),
    NotificationKind.SCHEDULED_BACKUP_FAILED: (
        "The scheduled backup failed on its final retry. No backup was taken for this scheduled run."
    ),
    NotificationKind.DRIVE_UPLOAD_DEGRADED: (
        "The backup completed, but uploading it to Google Drive failed after retries. "
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
        "Run `python main.py drive-test`. If it reports invalid_grant, reconnect Google Drive in the "
        "settings; "
        "if it reports quota or permission errors, check the folder's sharing and the Drive's storage."
    ),
    NotificationKind.SCHEDULED_CLEANUP_FAILED: (
        "Fix the cause named in the error (a 403 from Drive: the runtime account needs the Manager role on "
        "the Shared Drive), then run `python main.py cleanup` and check that it reports no failures."
    ),
}


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


def header_text(value: str) -> str:
    """`value` fit for a mail header: control characters and line or paragraph separators (CR and LF
    percent-decoded from a database URL, say) become spaces, so a header cannot be split or injected."""
    return "".join(" " if unicodedata.category(c) in {"Cc", "Zl", "Zp"} else c for c in value)


def headline(kind: NotificationKind) -> str:
    return _HEADLINES[kind]


def next_step(kind: NotificationKind) -> str:
    return _NEXT_STEPS[kind]


def database_label(notification: Notification) -> str:
    """Engine and name (and host when known). `DatabaseInfo` holds no password; redact anyway."""
    database = notification.database
    where = f" on {database.host}" if database.host else ""
    return redact(f"{database.engine} database {database.name!r}{where}")


def facts(notification: Notification) -> list[tuple[str, str]]:
    """The labelled lines of the mail, in order."""
    about_one_backup = notification.kind is not NotificationKind.SCHEDULED_CLEANUP_FAILED
    lines = [
        ("What happened", _WHAT_HAPPENED[notification.kind]),
        *(
            [("Backup", notification.backup_id or "(none: it failed before a backup record was made)")]
            if about_one_backup
            else []
        ),
        ("Database", database_label(notification)),
        ("When (UTC)", notification.occurred_at.isoformat(timespec="seconds")),
        *((label.capitalize(), value) for label, value in notification.facts.items()),
        ("Error", notification.error),
        ("What to do", _NEXT_STEPS[notification.kind]),
    ]
    return [(label, redact(value)) for label, value in lines]


def render(notification: Notification) -> Mail:
    database = notification.database
    subject = header_text(
        redact(f"[DB backup] {_HEADLINES[notification.kind]}: {database.engine} {database.name}")
    )
    lines = facts(notification)
    text = "\n".join(f"{label}: {value}" for label, value in lines) + "\n"
    rows = "\n".join(
        f'<tr><th align="left" valign="top">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in lines
    )
    html = (
        f"<!doctype html><html><body><h2>{escape(_HEADLINES[notification.kind])}</h2>\n"
        f'<table cellpadding="4">\n{rows}\n</table></body></html>\n'
    )
    return Mail(subject=subject, text=text, html=html)
