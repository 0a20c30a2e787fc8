"""`SendGridNotifier`: mails each notification through SendGrid's v3 mail/send API."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from shared.errors import BackupServiceError
from shared.notify.base import Notification
from shared.notify.log import notification_fields
from shared.notify.messages import header_text, render
from shared.redaction import redact

SENDGRID_HOST = "https://api.sendgrid.com"
_log = logging.getLogger("backup.notify")


class NotificationError(BackupServiceError):
    """SendGrid did not accept a mail, or no mail can be sent at all."""


class UnsendableNotifier:
    """Stands in when mail cannot be set up (the API key secret missing or unreadable): every `send` raises
    `NotificationError(reason)`, which `SafeNotifier` logs at CRITICAL with the notification, so the
    operations run on and each failure is still on record."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    def send(self, notification: Notification) -> None:
        raise NotificationError(f"no mail can be sent: {self._reason}")


def build_sendgrid_client(api_key: str, host: str = SENDGRID_HOST) -> SendGridAPIClient:
    return SendGridAPIClient(api_key=api_key, host=host)


def _clean(addresses: Sequence[str]) -> list[str]:
    """Stripped, non-empty, first occurrence kept (case-insensitively)."""
    seen: set[str] = set()
    kept: list[str] = []
    for address in (a.strip() for a in addresses):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
    return kept


class SendGridNotifier:
    """One request per notification; one personalization per recipient, so no one sees the others' addresses.

    `recipients` may be a list or a callable read at send time (e.g. the settings' notification e-mails).
    """

    def __init__(
        self,
        client: SendGridAPIClient,
        sender: str,
        recipients: Callable[[], Sequence[str]] | Sequence[str],
        timeout_seconds: float = 10.0,
        logger: logging.Logger = _log,
    ) -> None:
        self._client = client
        self._sender = sender
        self._recipients = recipients
        self._timeout = timeout_seconds
        self._logger = logger

    def recipients(self) -> list[str]:
        found = self._recipients() if callable(self._recipients) else self._recipients
        return _clean(found)

    def request_body(self, notification: Notification, recipients: Sequence[str]) -> dict[str, Any]:
        mail = render(notification)
        return {
            "personalizations": [{"to": [{"email": header_text(address)}]} for address in recipients],
            "from": {"email": header_text(self._sender)},
            "subject": mail.subject,
            "content": [
                {"type": "text/plain", "value": mail.text},
                {"type": "text/html", "value": mail.html},
            ],
            "categories": ["db-backup", str(notification.kind)],
        }

    def send(self, notification: Notification) -> None:
        recipients = self.recipients()
        if not recipients:
            self._logger.warning(
                json.dumps(
                    {
                        "severity": "WARNING",
                        "message": "no notification recipients configured; mail not sent "
                        "(add addresses to the settings' notification e-mails)",
                        "notification": notification_fields(notification),
                    }
                )
            )
            return
        body = self.request_body(notification, recipients)
        try:
            response = self._client.client.mail.send.post(request_body=body, timeout=self._timeout)
        except HTTPError as refusal:
            raise NotificationError(_explain(refusal.status_code, refusal.body)) from None
        if not 200 <= response.status_code < 300:
            raise NotificationError(_explain(response.status_code, response.body))


_HINTS = {
    401: "check the SendGrid API key secret",
    403: "the API key needs the Mail Send permission",
    400: "check the sender address is a verified SendGrid sender identity",
    413: "the mail is too large",
    429: "SendGrid rate limit reached",
}


def _error_messages(text: str) -> str:
    """The messages of SendGrid's `{"errors": [{"message": ...}, ...]}`; the text itself for other bodies."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return text
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    if not isinstance(errors, list) or not errors:
        return text
    return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)


def _explain(status: int, body: bytes | str | None) -> str:
    """SendGrid's own error messages (redacted, shortened) and what to check."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    messages = _error_messages(text)
    hint = _HINTS.get(status, "SendGrid may be having trouble; see status.sendgrid.com")
    return redact(f"SendGrid refused the mail with {status}: {messages[:500]} ({hint})")
