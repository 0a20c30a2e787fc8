"""`SendGridNotifier` via the real SendGrid client on the fake server; `SafeNotifier` and `LogNotifier`."""

from __future__ import annotations

import json
import logging

import pytest

from shared.models import DatabaseInfo, StorageKind
from shared.notify import LogNotifier, NotificationKind, SafeNotifier, backup_failed, drive_upload_degraded
from shared.notify.messages import headline, next_step
from shared.notify.sendgrid import NotificationError, SendGridNotifier, build_sendgrid_client
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.notify.examples import (
    BUILDERS,
    DATABASE,
    LEAKY_ERROR,
    NO_WAIT,
    SENDER,
    WHEN,
    closed_port_url,
    refuse_every_attempt,
)

RECIPIENTS = ["ops@example.com", "dba@example.org"]


def notifier_on(server: FakeSendGrid, recipients: list[str] | None = None) -> SendGridNotifier:
    client = build_sendgrid_client(server.api_key, server.host)
    return SendGridNotifier(client, SENDER, RECIPIENTS if recipients is None else recipients, retry=NO_WAIT)


def critical_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.levelno == logging.CRITICAL]


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_each_kind_is_mailed_with_everything_needed(sendgrid: FakeSendGrid, kind: NotificationKind) -> None:
    notifier_on(sendgrid).send(BUILDERS[kind](LEAKY_ERROR))
    [mail] = sendgrid.mails
    assert mail.authorization == f"Bearer {sendgrid.api_key}"
    assert mail.recipients == RECIPIENTS
    assert len(mail.body["personalizations"]) == len(RECIPIENTS), "recipients must not see each other"
    assert mail.body["from"] == {"email": SENDER}
    assert headline(kind) in mail.body["subject"]
    text = mail.content("text/plain")
    for expected in ("bk-101", "mysql", "shop", "2026-03-14T02:00:07+00:00", "RuntimeError", next_step(kind)):
        assert expected in text
    assert "<table" in mail.content("text/html")
    assert "Sup3r-Secret-pw" not in json.dumps(mail.body)


def test_recipients_are_read_at_send_time_and_deduplicated(sendgrid: FakeSendGrid) -> None:
    configured = ["ops@example.com"]
    client = build_sendgrid_client(sendgrid.api_key, sendgrid.host)
    notifier = SendGridNotifier(client, SENDER, lambda: configured, retry=NO_WAIT)
    configured.extend([" OPS@example.com ", "", "dba@example.org"])
    notifier.send(backup_failed(DATABASE, "x", WHEN))
    assert sendgrid.mails[0].recipients == ["ops@example.com", "dba@example.org"]


def test_no_recipients_logs_the_mail_at_critical_and_sends_nothing(
    sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture
) -> None:
    """The default settings name no one: every mail would be lost, so each one is a CRITICAL line."""
    notification = backup_failed(DATABASE, "x", WHEN, backup_id="bk-7")
    SafeNotifier(notifier_on(sendgrid, recipients=[" ", ""])).send(notification)
    assert sendgrid.attempts == []
    [line] = critical_lines(caplog)
    assert line["severity"] == "CRITICAL"
    assert "NOTIFICATION NOT SENT" in str(line["message"])
    logged = line["notification"]
    assert isinstance(logged, dict) and logged["kind"] == "backup_failed" and logged["backup_id"] == "bk-7"
    send_error = str(line["send_error"])
    assert "no recipients" in send_error and "set notification_emails" in send_error
    assert "[DB backup] Backup failed: mysql shop" in send_error


@pytest.mark.parametrize(("status", "hint", "attempts"), [(401, "API key", 1), (500, "SendGrid", 3)])
def test_refused_mail_raises_a_clear_error(
    sendgrid: FakeSendGrid, status: int, hint: str, attempts: int
) -> None:
    refuse_every_attempt(sendgrid, status)
    with pytest.raises(NotificationError, match=f"{status}.*{hint}"):
        notifier_on(sendgrid).send(backup_failed(DATABASE, "x", WHEN))
    assert sendgrid.mails == []
    assert len(sendgrid.attempts) == attempts


@pytest.mark.parametrize("failure", ["401", "500", "timeout", "unreachable"])
def test_safe_notifier_logs_critical_and_returns(
    sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    wrong_key = "SG.wrong-key-abcdef.never-logged-123456"
    if failure == "401":
        client = build_sendgrid_client(wrong_key, sendgrid.host)
    elif failure == "unreachable":
        client = build_sendgrid_client(sendgrid.api_key, closed_port_url())
    else:
        client = build_sendgrid_client(sendgrid.api_key, sendgrid.host)
    if failure == "500":
        refuse_every_attempt(sendgrid, 500)
    if failure == "timeout":
        refuse_every_attempt(sendgrid, 503)  # should a late answer come in after all, it takes no mail
        for _ in range(NO_WAIT.attempts):
            sendgrid.delay_next(1)
    inner = SendGridNotifier(client, SENDER, RECIPIENTS, timeout_seconds=0.3, retry=NO_WAIT)
    safe = SafeNotifier(inner, known_secrets=[wrong_key])

    returned = safe.send(backup_failed(DATABASE, LEAKY_ERROR, WHEN, backup_id="bk-42"))  # type: ignore[func-returns-value]

    assert returned is None
    assert sendgrid.mails == []
    [line] = critical_lines(caplog)
    assert line["severity"] == "CRITICAL"
    assert "NOTIFICATION NOT SENT" in str(line["message"])
    assert line["notifier"] == "SendGridNotifier"
    notification = line["notification"]
    assert isinstance(notification, dict)
    assert notification["backup_id"] == "bk-42"
    assert notification["kind"] == "backup_failed"
    assert str(line["send_error"])
    logged = caplog.text
    assert wrong_key not in logged
    assert sendgrid.api_key not in logged
    assert "Sup3r-Secret-pw" not in logged


def test_safe_notifier_is_silent_when_the_mail_goes_out(
    sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture
) -> None:
    SafeNotifier(notifier_on(sendgrid)).send(backup_failed(DATABASE, "x", WHEN))
    assert len(sendgrid.mails) == 1
    assert critical_lines(caplog) == []


def test_log_notifier_writes_one_structured_error_line(caplog: pytest.LogCaptureFixture) -> None:
    LogNotifier().send(BUILDERS[NotificationKind.DRIVE_UPLOAD_DEGRADED](LEAKY_ERROR))
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    line = json.loads(record.getMessage())
    assert line["severity"] == "ERROR"
    assert line["notification"]["kind"] == "drive_upload_degraded"
    assert line["notification"]["backup_id"] == "bk-101"
    assert line["notification"]["database"] == "mysql database 'shop' on 10.0.0.5"
    assert line["notification"]["facts"] == {"copy kept in": "local storage"}
    assert line["next_step"] == next_step(NotificationKind.DRIVE_UPLOAD_DEGRADED)
    assert "Sup3r-Secret-pw" not in record.getMessage()


@pytest.mark.parametrize(
    "body",
    [
        {"errors": None},
        {"errors": 5},
        {"errors": "quota"},
        {"errors": [1, "two", {"field": "from"}, {"message": "bad sender"}]},
        {"message": "not SendGrid's shape"},
        [],
        b"null",
        b"<html>Bad gateway</html>",
        b"",
    ],
)
def test_a_refusal_of_any_shape_is_explained(sendgrid: FakeSendGrid, body: object) -> None:
    refuse_every_attempt(sendgrid, 502, body=body)
    with pytest.raises(NotificationError, match="502"):
        notifier_on(sendgrid).send(backup_failed(DATABASE, "x", WHEN))


def test_header_values_never_hold_line_breaks(sendgrid: FakeSendGrid) -> None:
    database = DatabaseInfo(engine="mysql", name="shop\r\nBcc: evil@x.test")
    notifier_on(sendgrid).send(backup_failed(database, "x", WHEN))
    [mail] = sendgrid.mails
    assert "\r" not in mail.body["subject"] and "\n" not in mail.body["subject"]


def test_known_secrets_are_masked_in_the_mail_and_the_log(
    sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture
) -> None:
    password = "Odd-Pass-Word-77"
    notification = backup_failed(DATABASE, f"login with {password} refused", WHEN, backup_id="bk-9")
    SafeNotifier(notifier_on(sendgrid), known_secrets=[password]).send(notification)
    [mail] = sendgrid.mails
    assert password not in json.dumps(mail.body)
    refuse_every_attempt(sendgrid, 500)
    SafeNotifier(notifier_on(sendgrid), known_secrets=[password]).send(notification)
    assert critical_lines(caplog) and password not in caplog.text


def test_log_notifier_gives_the_next_step_of_what_happened(caplog: pytest.LogCaptureFixture) -> None:
    notification = drive_upload_degraded(DATABASE, "disk full", WHEN, "bk-3", "drive", StorageKind.LOCAL)
    LogNotifier().send(notification)
    [record] = caplog.records
    line = json.loads(record.getMessage())
    assert line["message"].startswith("[DB backup] Backup not stored in local storage")
    assert line["next_step"] == next_step(NotificationKind.DRIVE_UPLOAD_DEGRADED, str(StorageKind.LOCAL))
    assert "drive-test" not in line["next_step"]
