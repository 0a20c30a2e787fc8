"""A mail SendGrid does not take for a passing reason (429, 5xx, a timeout, a refused connection) is sent
again, a few times and briefly, waiting as `Retry-After` asks (capped); other refusals are final. Through
the real SendGrid client and the fake, which refuses as told and names a `Retry-After` when asked to."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from shared.notify import backup_failed
from shared.notify.sendgrid import MailRetryPolicy, NotificationError, SendGridNotifier, build_sendgrid_client
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.fakes.tls_cert import TLSFiles
from tests.notify.examples import DATABASE, SENDER, WHEN, closed_port_url

RECIPIENTS = ["ops@example.com"]


class RetryAfterSendGrid(FakeSendGrid):
    """The SendGrid fake, whose refusals carry `Retry-After: <retry_after>` while that is set."""

    retry_after: str | None = None

    def _serve(self, handler: type[BaseHTTPRequestHandler], name: str, tls: TLSFiles | None = None) -> None:
        fake = self

        class Handler(handler):  # type: ignore[valid-type, misc]
            def send_response(self, code: int, message: str | None = None) -> None:
                super().send_response(code, message)
                if code >= 400 and fake.retry_after is not None:
                    self.send_header("Retry-After", fake.retry_after)

        super()._serve(Handler, name, tls)

    def reset(self) -> None:
        super().reset()
        self.retry_after = None


@pytest.fixture(scope="module")
def sendgrid_server() -> Iterator[RetryAfterSendGrid]:
    with RetryAfterSendGrid() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


def notifier_on(
    host: str, api_key: str, sleeps: list[float], timeout_seconds: float = 10.0
) -> SendGridNotifier:
    retry = MailRetryPolicy(sleep=sleeps.append, jitter=lambda: 1.0)
    client = build_sendgrid_client(api_key, host)
    return SendGridNotifier(client, SENDER, RECIPIENTS, timeout_seconds=timeout_seconds, retry=retry)


def send(notifier: SendGridNotifier) -> None:
    notifier.send(backup_failed(DATABASE, "the final attempt failed", WHEN, backup_id="bk-5"))


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_a_passing_refusal_is_retried_with_growing_waits_and_the_mail_goes_out(
    sendgrid: RetryAfterSendGrid, sleeps: list[float], status: int
) -> None:
    sendgrid.fail_next(status, times=2)
    send(notifier_on(sendgrid.host, sendgrid.api_key, sleeps))
    assert len(sendgrid.attempts) == 3
    [mail] = sendgrid.mails
    assert "the final attempt failed" in mail.content("text/plain")
    assert sleeps == [0.5, 1.0]


def test_a_refusal_on_every_attempt_stops_after_three_and_says_so(
    sendgrid: RetryAfterSendGrid, sleeps: list[float]
) -> None:
    sendgrid.fail_next(503, times=10)
    with pytest.raises(NotificationError, match=r"503.*tried 3 times"):
        send(notifier_on(sendgrid.host, sendgrid.api_key, sleeps))
    assert len(sendgrid.attempts) == 3
    assert sendgrid.mails == []
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_any_other_refusal_is_final(sendgrid: RetryAfterSendGrid, sleeps: list[float], status: int) -> None:
    sendgrid.fail_next(status)
    with pytest.raises(NotificationError, match=str(status)):
        send(notifier_on(sendgrid.host, sendgrid.api_key, sleeps))
    assert len(sendgrid.attempts) == 1
    assert sleeps == []


def test_a_wrong_api_key_is_not_retried(sendgrid: RetryAfterSendGrid, sleeps: list[float]) -> None:
    with pytest.raises(NotificationError, match=r"401.*API key"):
        send(notifier_on(sendgrid.host, "SG.wrong-key.0000000000", sleeps))
    assert len(sendgrid.attempts) == 1


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [
        ("2", 2.0),
        ("0.25", 0.25),
        ("0", 0.0),
        ("3600", 4.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.5),
        ("-1", 0.5),
    ],
)
def test_retry_after_is_waited_capped_and_a_date_or_nonsense_falls_back_to_the_backoff(
    sendgrid: RetryAfterSendGrid, sleeps: list[float], retry_after: str, waited: float
) -> None:
    sendgrid.retry_after = retry_after
    sendgrid.fail_next(429)
    send(notifier_on(sendgrid.host, sendgrid.api_key, sleeps))
    assert len(sendgrid.mails) == 1
    assert sleeps == [waited]


def test_a_timeout_is_retried(
    sendgrid: RetryAfterSendGrid, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    sendgrid.delay_next(1)
    sendgrid.fail_next(503)  # the first attempt's late answer, after the client gave up: no mail
    send(notifier_on(sendgrid.host, sendgrid.api_key, sleeps, timeout_seconds=0.3))
    assert len(sendgrid.attempts) == 2
    assert len(sendgrid.mails) == 1
    [retried] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "timed out" in retried.getMessage()


def test_an_unreachable_sendgrid_is_tried_three_times(sleeps: list[float]) -> None:
    with pytest.raises(NotificationError, match=r"could not be reached.*tried 3 times"):
        send(notifier_on(closed_port_url(), "SG.any-key.0000000000", sleeps))
    assert sleeps == [0.5, 1.0]


def test_every_send_starts_with_all_its_attempts(sendgrid: RetryAfterSendGrid, sleeps: list[float]) -> None:
    notifier = notifier_on(sendgrid.host, sendgrid.api_key, sleeps)
    sendgrid.fail_next(503, times=2)
    send(notifier)
    sendgrid.fail_next(503, times=2)
    send(notifier)
    assert len(sendgrid.mails) == 2 and len(sendgrid.attempts) == 6
