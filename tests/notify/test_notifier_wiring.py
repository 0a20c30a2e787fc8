"""`build_notifier` as the service wires it: an unreadable SendGrid API key degrades to CRITICAL log lines
(the service still builds), and the database password is a known secret of every notification."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from shared.config import Config
from shared.notify import backup_failed
from shared.wiring import build_context
from tests.fakes.secret_manager_server import FakeSecretManager
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.notify.examples import DATABASE, WHEN

PROJECT = "demo-backups"
DB_PASSWORD = "Odd-Db-Pass-Word-77"
KEY_SECRET = "sendgrid-api-key"


def sendgrid_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "BACKUP_HOME": str(home),
        "BACKUP_NOTIFIER": "sendgrid",
        "BACKUP_SECRETS": "files",
        "BACKUP_SECRETS_DIR": str(home),
        "BACKUP_DATABASE_URL": "mysql://backup@127.0.0.1:3306/shop",
        **extra,
    }


def critical_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.levelno == logging.CRITICAL and r.getMessage().startswith("{")
    ]


def test_a_missing_api_key_secret_still_builds_the_service_and_logs_each_notification(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    context = build_context(Config.from_env(sendgrid_env(tmp_path)))
    context.notifier.send(backup_failed(DATABASE, "boom", WHEN, backup_id="bk-1"))
    [line] = critical_lines(caplog)
    assert "NOTIFICATION NOT SENT" in str(line["message"])
    assert KEY_SECRET in str(line["send_error"]) and "not set" in str(line["send_error"])
    assert isinstance(line["notification"], dict) and line["notification"]["backup_id"] == "bk-1"


@pytest.mark.parametrize("problem", ["denied", "missing", "empty"])
def test_an_unreadable_secret_manager_key_degrades_and_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, problem: str
) -> None:
    key = "SG.never-logged-key.0123456789abcdef"
    with FakeSecretManager() as secret_manager:
        if problem != "missing":
            secret_manager.put(PROJECT, KEY_SECRET, key if problem == "denied" else "\n")
        if problem == "denied":
            secret_manager.deny(PROJECT, KEY_SECRET)
        env = sendgrid_env(
            tmp_path,
            BACKUP_SECRETS="secret-manager",
            BACKUP_SECRET_MANAGER_ENDPOINT=secret_manager.endpoint,
            BACKUP_GCP_PROJECT=PROJECT,
        )
        context = build_context(Config.from_env(env))
    context.notifier.send(backup_failed(DATABASE, "boom", WHEN))
    [line] = critical_lines(caplog)
    expected = {"denied": "permission denied", "missing": "does not exist", "empty": "is empty"}[problem]
    assert expected in str(line["send_error"])
    assert key not in caplog.text


@pytest.mark.parametrize("notifier", ["sendgrid", "log"])
def test_the_database_password_is_masked_in_every_notification(
    tmp_path: Path, sendgrid: FakeSendGrid, caplog: pytest.LogCaptureFixture, notifier: str
) -> None:
    (tmp_path / KEY_SECRET).write_text(sendgrid.api_key + "\n")
    env = sendgrid_env(
        tmp_path,
        BACKUP_NOTIFIER=notifier,
        BACKUP_SENDGRID_HOST=sendgrid.host,
        BACKUP_DATABASE_URL=f"mysql://backup:{DB_PASSWORD}@127.0.0.1:3306/shop",
    )
    context = build_context(Config.from_env(env))
    settings = context.catalog.get_settings()
    context.catalog.save_settings(replace(settings, notification_emails=["ops@example.com"]))
    context.notifier.send(backup_failed(DATABASE, f"the server refused {DB_PASSWORD} for backup", WHEN))
    sent = json.dumps([mail.body for mail in sendgrid.mails])
    assert len(sendgrid.mails) == (1 if notifier == "sendgrid" else 0)
    assert DB_PASSWORD not in sent and DB_PASSWORD not in caplog.text
    assert "the server refused *** for backup" in sent + caplog.text
