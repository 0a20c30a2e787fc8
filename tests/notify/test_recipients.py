"""`LastKnownRecipients`: the settings' notification e-mails, and the ones read last while the stored
settings cannot be read (here: a record a bad migration or hand edit left invalid, in a SQLite catalog),
so that the mail about the failure they cause still goes out. The catalog outage is in
`test_recipients_in_an_outage`."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from shared.catalog.sqlite import SQLiteCatalog
from shared.models import BackupSettings
from shared.notify import SafeNotifier, backup_failed
from shared.notify.recipients import LastKnownRecipients
from shared.notify.sendgrid import SendGridNotifier, build_sendgrid_client
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.notify.examples import DATABASE, NO_WAIT, SENDER, WHEN

RECIPIENTS = ["oncall@example.com", "dba@example.com"]
UNREADABLE = {"schedule_enabled": True, "schedule_frequency": "fortnightly"}


def store_unreadable_settings(path: Path) -> None:
    """Write the settings record behind the catalog's back, as `tests.functions` does."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO settings (singleton, data) VALUES (1, ?) "
            "ON CONFLICT (singleton) DO UPDATE SET data = excluded.data",
            (json.dumps(UNREADABLE),),
        )
    connection.close()


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    return tmp_path / "catalog.sqlite3"


@pytest.fixture
def catalog(catalog_path: Path) -> SQLiteCatalog:
    return SQLiteCatalog(catalog_path)


def test_the_recipients_read_last_are_used_while_the_settings_are_unreadable(
    catalog: SQLiteCatalog, catalog_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog.save_settings(BackupSettings(notification_emails=RECIPIENTS))
    recipients = LastKnownRecipients(catalog)
    assert recipients() == RECIPIENTS

    store_unreadable_settings(catalog_path)

    assert recipients() == RECIPIENTS
    [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert error.levelno == logging.ERROR
    assert "could not be read" in error.getMessage() and "fortnightly" in error.getMessage()


def test_recipients_changed_in_the_settings_are_read_again(catalog: SQLiteCatalog) -> None:
    recipients = LastKnownRecipients(catalog)
    catalog.save_settings(BackupSettings(notification_emails=RECIPIENTS))
    assert recipients() == RECIPIENTS
    catalog.save_settings(BackupSettings(notification_emails=["new@example.com"]))
    assert recipients() == ["new@example.com"]


def test_with_nothing_read_before_the_error_passes_on(catalog: SQLiteCatalog, catalog_path: Path) -> None:
    store_unreadable_settings(catalog_path)
    with pytest.raises(ValueError, match="fortnightly"):
        LastKnownRecipients(catalog)()


def test_the_failure_mail_reaches_the_recipients_read_last(
    catalog: SQLiteCatalog, catalog_path: Path, sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduled run that fails on the unreadable settings mails its failure to someone."""
    client = build_sendgrid_client(sendgrid.api_key, sendgrid.host)
    notifier = SafeNotifier(SendGridNotifier(client, SENDER, LastKnownRecipients(catalog), retry=NO_WAIT))
    catalog.save_settings(BackupSettings(notification_emails=RECIPIENTS))
    notifier.send(backup_failed(DATABASE, "before", WHEN))

    store_unreadable_settings(catalog_path)
    notifier.send(backup_failed(DATABASE, "the settings cannot be read", WHEN))

    assert [mail.recipients for mail in sendgrid.mails] == [RECIPIENTS, RECIPIENTS]
    assert not [r for r in caplog.records if r.levelno == logging.CRITICAL]
