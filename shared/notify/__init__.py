"""Failure notifications: the `Notifier` seam, its mail and log implementations, and `SafeNotifier`."""

from shared.notify.base import (
    DatabaseAfter,
    Notification,
    NotificationKind,
    Notifier,
    backup_failed,
    drive_upload_degraded,
    restore_failed,
    scheduled_backup_failed,
    scheduled_cleanup_failed,
)
from shared.notify.log import LogNotifier
from shared.notify.safe import SafeNotifier

__all__ = [
    "DatabaseAfter",
    "LogNotifier",
    "Notification",
    "NotificationKind",
    "Notifier",
    "SafeNotifier",
    "backup_failed",
    "drive_upload_degraded",
    "restore_failed",
    "scheduled_backup_failed",
    "scheduled_cleanup_failed",
]
