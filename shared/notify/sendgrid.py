"""`SendGridNotifier`: mails each notification through SendGrid's v3 mail/send API."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from email.message import Message
from http.client import HTTPException
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from shared.errors import BackupServiceError
from shared.notify.base import Notification
from shared.notify.messages import header_text, render
from shared.redaction import redact
from shared.storage.retry import RetriesExhaustedError, RetryPolicy

SENDGRID_HOST = "https://api.sendgrid.com"


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


@dataclass(frozen=True)
class MailRetryPolicy(RetryPolicy):
    """Retries of a mail SendGrid did not take for a passing reason (429, 5xx, a timeout, a lost
    connection): few and short, since a failure mail may be sent close to a function's time limit. A send
    takes at most `attempts` × the request timeout + (`attempts` − 1) × `retry_after_cap` seconds. Before
    a retry it waits as long as SendGrid's `Retry-After` asks (capped), else the exponential backoff."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 2.0
    retry_after_cap: float = 4.0
    _asked: list[float] = field(default_factory=list, init=False, compare=False, repr=False)
    """The `Retry-After` of the last refusal; a copy (`replace`) of the policy serves each send."""

    def worth_retrying(self, error: BaseException) -> bool:
        self._asked.clear()
        if isinstance(error, HTTPError):
            self._asked.extend(_retry_after(error.headers))
            return bool(error.status_code == 429 or error.status_code >= 500)
        return isinstance(error, OSError | HTTPException)  # timeouts, refused or dropped connections

    def delay_before(self, retry_number: int) -> float:
        if self._asked:
            return min(self._asked[0], self.retry_after_cap)
        return super().delay_before(retry_number)


def _retry_after(headers: Message | None) -> list[float]:
    """The seconds of a `Retry-After: N` header (none for a missing, dated or meaningless one)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return []
    return [seconds] if math.isfinite(seconds) and seconds >= 0 else []


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
        retry: MailRetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._sender = sender
        self._recipients = recipients
        self._timeout = timeout_seconds
        self._retry = retry if retry is not None else MailRetryPolicy()

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
        """Mail `notification`, retrying passing failures; raises `NotificationError` when it is not sent
        (no recipients, or SendGrid did not take it)."""
        recipients = self.recipients()
        if not recipients:
            raise NotificationError(_no_recipients(notification))
        body = self.request_body(notification, recipients)
        policy = replace(self._retry)
        try:
            policy.call(
                lambda: self._post(body),
                is_transient=policy.worth_retrying,
                description="sending the mail through SendGrid",
            )
        except RetriesExhaustedError as exhausted:
            cause = exhausted.__cause__ or exhausted
            raise NotificationError(f"{_describe(cause)}; tried {exhausted.attempts} times") from None
        except HTTPError as refusal:
            raise NotificationError(_describe(refusal)) from None

    def _post(self, body: dict[str, Any]) -> None:
        response = self._client.client.mail.send.post(request_body=body, timeout=self._timeout)
        if not 200 <= response.status_code < 300:
            raise NotificationError(_explain(response.status_code, response.body))


def _no_recipients(notification: Notification) -> str:
    subject = render(notification).subject
    return (
        f"no recipients for the {notification.kind} mail {subject!r}: the settings' notification_emails "
        "is empty; set notification_emails (e.g. `python main.py settings --set "
        "notification_emails=ops@example.com`, or the backup_settings function)"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, HTTPError):
        return _explain(error.status_code, error.body)
    return redact(f"SendGrid could not be reached: {type(error).__name__}: {error}")


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
