"""The failure mail of a catalog outage still goes out: the notification e-mails live in the settings, in
the catalog that does not answer, so the ones read last are used. A real Firestore client, the Firestore
emulator behind a proxy the test cuts, and the SendGrid fake."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Config
from shared.models import BackupSettings
from shared.notify import backup_failed
from shared.services.context import ServiceContext
from shared.wiring import build_context
from tests.emulators.firestore import FirestoreEmulator
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.fakes.tcp_proxy import CuttableProxy
from tests.notify.examples import DATABASE, WHEN
from tests.notify.test_notifier_wiring import KEY_SECRET, sendgrid_env

RECIPIENTS = ["oncall@example.com", "dba@example.com"]


@pytest.fixture
def proxy(firestore_emulator: FirestoreEmulator) -> Iterator[CuttableProxy]:
    host, port = firestore_emulator.host.rsplit(":", 1)
    with CuttableProxy(host, int(port)) as proxy:
        yield proxy


def _context(home: Path, proxy: CuttableProxy, sendgrid: FakeSendGrid, prefix: str) -> ServiceContext:
    home.mkdir(parents=True, exist_ok=True)
    (home / KEY_SECRET).write_text(sendgrid.api_key)
    env = sendgrid_env(
        home,
        BACKUP_CATALOG="firestore",
        BACKUP_GCP_PROJECT="demo-backups",
        BACKUP_FIRESTORE_EMULATOR_HOST=proxy.host,
        BACKUP_FIRESTORE_PREFIX=prefix,
        BACKUP_CATALOG_TIMEOUT_SECONDS="5",
        BACKUP_SENDGRID_HOST=sendgrid.host,
    )
    return build_context(Config.from_env(env))


def test_the_recipients_read_last_get_the_mail_while_the_catalog_is_out(
    tmp_path: Path, proxy: CuttableProxy, sendgrid: FakeSendGrid
) -> None:
    prefix = f"r{uuid.uuid4().hex[:8]}_"
    context = _context(tmp_path / "home", proxy, sendgrid, prefix)
    context.catalog.save_settings(BackupSettings(notification_emails=RECIPIENTS))
    context.notifier.send(backup_failed(DATABASE, "before the outage", WHEN))

    proxy.cut()
    context.notifier.send(backup_failed(DATABASE, "during the outage", WHEN))

    assert [mail.recipients for mail in sendgrid.mails] == [RECIPIENTS, RECIPIENTS]
    assert "during the outage" in sendgrid.mails[1].content("text/plain")


def test_an_instance_that_never_read_the_recipients_logs_the_mail_instead(
    tmp_path: Path, proxy: CuttableProxy, sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.cut()
    context = _context(tmp_path / "home", proxy, sendgrid, f"r{uuid.uuid4().hex[:8]}_")
    context.notifier.send(backup_failed(DATABASE, "during the outage", WHEN))
    assert sendgrid.mails == []
    assert "NOTIFICATION NOT SENT" in caplog.text and "did not answer" in caplog.text
