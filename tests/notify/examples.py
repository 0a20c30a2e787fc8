"""Example notifications of every kind and a dead address, shared by the notifier tests."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.models import DatabaseInfo
from shared.notify import (
    Notification,
    NotificationKind,
    backup_failed,
    drive_upload_degraded,
    restore_failed,
    scheduled_backup_failed,
    scheduled_cleanup_failed,
)
from shared.notify.sendgrid import MailRetryPolicy
from tests.fakes.sendgrid_server import FakeSendGrid

SENDER = "backups@example.com"
WHEN = datetime(2026, 3, 14, 2, 0, 7, tzinfo=UTC)
DATABASE = DatabaseInfo(engine="mysql", name="shop", host="10.0.0.5")

LEAKY_ERROR = RuntimeError("cannot connect to mysql://backup:Sup3r-Secret-pw@10.0.0.5:3306/shop")

BUILDERS: dict[NotificationKind, Callable[[BaseException | str], Notification]] = {
    NotificationKind.BACKUP_FAILED: lambda e: backup_failed(DATABASE, e, WHEN, backup_id="bk-101"),
    NotificationKind.RESTORE_FAILED: lambda e: restore_failed(
        DATABASE, e, WHEN, backup_id="bk-101", pre_restore_backup_id="bk-100"
    ),
    NotificationKind.SCHEDULED_BACKUP_FAILED: lambda e: scheduled_backup_failed(
        DATABASE, e, WHEN, scheduled_for=WHEN - timedelta(minutes=30), attempts=3, backup_id="bk-101"
    ),
    NotificationKind.DRIVE_UPLOAD_DEGRADED: lambda e: drive_upload_degraded(
        DATABASE, e, WHEN, backup_id="bk-101", kept_at="local storage"
    ),
    NotificationKind.SCHEDULED_CLEANUP_FAILED: lambda e: scheduled_cleanup_failed(
        DATABASE, e, WHEN, {"bk-101": "HttpError 403"}, scheduled_for=WHEN - timedelta(hours=1), attempts=4
    ),
}


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


NO_WAIT = MailRetryPolicy(sleep=lambda _seconds: None)
"""The mail's retries, without the waits between them."""


def refuse_every_attempt(server: FakeSendGrid, status: int, body: Any = None) -> None:
    """`server` refuses each attempt of the next mail (retries included) with `status`."""
    server.fail_next(status, times=NO_WAIT.attempts, body=body)
