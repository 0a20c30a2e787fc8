"""`LogNotifier`: the local default; writes each notification as one structured JSON line at ERROR."""

from __future__ import annotations

import json
import logging

from shared.notify.base import Notification
from shared.notify.messages import database_label, next_step, render
from shared.redaction import redact

_log = logging.getLogger("backup.notify")


def notification_fields(notification: Notification) -> dict[str, object]:
    """The notification as JSON-ready fields for a structured log line (redacted, no password)."""
    return {
        "kind": str(notification.kind),
        "backup_id": notification.backup_id,
        "database": database_label(notification),
        "occurred_at": notification.occurred_at.isoformat(),
        "error": redact(notification.error),
        "facts": {label: redact(value) for label, value in notification.facts.items()},
    }


class LogNotifier:
    def __init__(self, logger: logging.Logger = _log) -> None:
        self._logger = logger

    def send(self, notification: Notification) -> None:
        mail = render(notification)
        line = {
            "severity": "ERROR",
            "message": mail.subject,
            "notification": notification_fields(notification),
            "next_step": next_step(notification.kind, notification.variant),
        }
        self._logger.error(json.dumps(line))
