"""`SafeNotifier`: a mail that cannot be sent is logged loudly and never raises (seed Property 4)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace

from shared.notify.base import Notification, Notifier
from shared.notify.log import notification_fields
from shared.redaction import redact

_log = logging.getLogger("backup.notify")


class SafeNotifier:
    """Never lets a notification failure turn a success into a failure or hide the error being reported.

    `known_secrets` (e.g. the SendGrid API key, the database password) are masked, on top of the usual
    redaction, in the notification before it is passed on and in the logged error.
    """

    def __init__(
        self, inner: Notifier, logger: logging.Logger = _log, known_secrets: Iterable[str] = ()
    ) -> None:
        self._inner = inner
        self._logger = logger
        self._known_secrets = tuple(known_secrets)

    def send(self, notification: Notification) -> None:
        notification = self._without_known_secrets(notification)
        try:
            self._inner.send(notification)
        except Exception as error:
            self._report(notification, error)

    def _without_known_secrets(self, notification: Notification) -> Notification:
        if not self._known_secrets:
            return notification
        return replace(
            notification,
            error=redact(notification.error, self._known_secrets),
            facts={label: redact(value, self._known_secrets) for label, value in notification.facts.items()},
        )

    def _report(self, notification: Notification, error: Exception) -> None:
        try:
            line = json.dumps(
                {
                    "severity": "CRITICAL",
                    "message": "NOTIFICATION NOT SENT: nobody was told about this failure; "
                    "check what send_error names (API key, sender, recipients, network)",
                    "notifier": type(self._inner).__name__,
                    "send_error": redact(f"{type(error).__name__}: {error}", self._known_secrets),
                    "notification": notification_fields(notification),
                }
            )
            self._logger.critical(line)
        except Exception:
            self._logger.critical(
                "NOTIFICATION NOT SENT, and describing why failed too (%s)", type(error).__name__
            )
