"""Seed Property 4: every failure is dispatched to every configured recipient, and a notification that
cannot be sent never hides the original error nor turns a success into a failure."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.notify import NotificationKind, SafeNotifier
from shared.notify.base import Notification, Notifier
from shared.notify.messages import headline
from shared.notify.sendgrid import SendGridNotifier, build_sendgrid_client
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.notify.examples import BUILDERS, NO_WAIT, SENDER, refuse_every_attempt


class OperationFailed(Exception):
    """The error a backup or restore raises; it must reach the caller unchanged."""


def failing_operation(notifier: Notifier, notification: Notification, original: OperationFailed) -> None:
    """How a service reports a failure: notify, then re-raise the original error."""
    try:
        raise original
    except OperationFailed:
        notifier.send(notification)
        raise


def degraded_but_successful_operation(notifier: Notifier, notification: Notification) -> str:
    """How a backup that lost its Drive copy ends: notify, then complete."""
    notifier.send(notification)
    return "completed"


def _mixes_cases_and_digits(password: str) -> bool:
    """A password no mail or log line holds by chance, as one of lower-case letters alone would
    ("personaliz", in the request's "personalizations")."""
    return (
        any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
    )


passwords = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=10, max_size=24).filter(
    _mixes_cases_and_digits
)
errors = st.tuples(st.text(max_size=80), st.one_of(st.none(), passwords))
recipient_lists = st.lists(st.emails(), max_size=4, unique_by=str.lower)


@given(
    kind=st.sampled_from(list(NotificationKind)),
    error=errors,
    recipients=recipient_lists,
    outcome=st.sampled_from(["accepted", "401", "500"]),
)
def test_property_4_failure_notification_dispatch(
    sendgrid_server: FakeSendGrid,
    caplog: pytest.LogCaptureFixture,
    kind: NotificationKind,
    error: tuple[str, str | None],
    recipients: list[str],
    outcome: str,
) -> None:
    sendgrid_server.reset()
    caplog.clear()
    prefix, password = error
    if password is not None:
        assume(password not in prefix)
    message = prefix if password is None else f"{prefix} via mysql://backup:{password}@db:3306/shop"
    api_key = "SG.wrong-key-for-the-test.0000000000" if outcome == "401" else sendgrid_server.api_key
    if outcome == "500":
        refuse_every_attempt(sendgrid_server, 500)
    client = build_sendgrid_client(api_key, sendgrid_server.host)
    notifier = SafeNotifier(SendGridNotifier(client, SENDER, recipients, timeout_seconds=5, retry=NO_WAIT))
    notification = BUILDERS[kind](message)

    if kind is NotificationKind.DRIVE_UPLOAD_DEGRADED:
        assert degraded_but_successful_operation(notifier, notification) == "completed"
    else:
        original = OperationFailed(message)
        with pytest.raises(OperationFailed) as caught:
            failing_operation(notifier, notification, original)
        assert caught.value is original

    criticals = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    if not recipients:
        assert sendgrid_server.attempts == []
        [critical] = criticals
        assert "notification_emails" in json.loads(critical.getMessage())["send_error"]
        return
    assert len(sendgrid_server.attempts) == (NO_WAIT.attempts if outcome == "500" else 1)
    if outcome == "accepted":
        [mail] = sendgrid_server.mails
        assert mail.recipients == recipients
        assert headline(kind) in mail.body["subject"]
        assert "bk-101" in mail.content("text/plain")
        assert criticals == []
        sent = json.dumps(mail.body)
    else:
        assert sendgrid_server.mails == []
        [critical] = criticals
        assert json.loads(critical.getMessage())["notification"]["kind"] == str(kind)
        sent = caplog.text
    if password is not None:
        assert password not in sent
