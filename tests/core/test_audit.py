"""`Auditor.record`: the structured log line first, then the catalog; a catalog that refuses the entry is
logged at CRITICAL and never changes the outcome of the operation being recorded."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

from shared.audit import Auditor
from shared.auth.errors import PermissionDeniedError
from shared.auth.permissions import AccessGuard
from shared.auth.tokens import TokenVerifier
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import SystemClock
from shared.config import Config
from shared.dburl import parse_database_url
from shared.errors import DumpError
from shared.models import AuditAction, BackupStatus
from shared.services.backups import BackupService
from shared.wiring import build_context
from tests.fakes.certs_server import CertsServer
from tests.notify.examples import closed_port_url

SECRET = "Pw-in-a-storage-error-5531"


def lose_the_audit_table(catalog_file: Path) -> None:
    """The catalog goes on working for backups but refuses audit entries."""
    with sqlite3.connect(catalog_file) as connection:
        connection.execute("DROP TABLE backup_logs")


def json_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[dict[str, object]]:
    return [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "backup.audit" and r.levelno == level
    ]


@pytest.fixture
def catalog(tmp_path: Path) -> SQLiteCatalog:
    return SQLiteCatalog(tmp_path / "catalog.sqlite3")


def test_the_log_line_and_the_stored_entry_are_the_same_entry(
    catalog: SQLiteCatalog, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="backup.audit"):
        entry = Auditor(catalog, SystemClock()).record("ops@example.com", AuditAction.DOWNLOAD, "bk-1")
    [line] = json_lines(caplog, logging.INFO)
    [stored] = catalog.list_logs()
    assert isinstance(line["audit"], dict)
    assert line["audit"]["id"] == entry.id == stored.id
    assert stored.actor == "ops@example.com" and stored.backup_id == "bk-1"


def test_a_refused_entry_is_logged_critical_and_does_not_raise(
    tmp_path: Path, catalog: SQLiteCatalog, caplog: pytest.LogCaptureFixture
) -> None:
    lose_the_audit_table(tmp_path / "catalog.sqlite3")
    with caplog.at_level(logging.INFO, logger="backup.audit"):
        entry = Auditor(catalog, SystemClock()).record(
            "ops@example.com", AuditAction.DELETE, "bk-2", {"outcome": "failed"}, severity="ERROR"
        )
    assert entry.backup_id == "bk-2" and entry.details == {"outcome": "failed"}
    [line] = json_lines(caplog, logging.INFO)
    [critical] = json_lines(caplog, logging.CRITICAL)
    assert line["severity"] == "ERROR"
    assert critical["severity"] == "CRITICAL" and "NOT STORED" in str(critical["message"])
    assert critical["audit"] == line["audit"]
    assert "no such table" in str(critical["store_error"])
    assert caplog.records[0].levelno == logging.INFO, "the log line comes before the attempt to store"


def test_string_details_are_redacted_in_the_log_and_the_catalog(
    catalog: SQLiteCatalog, caplog: pytest.LogCaptureFixture
) -> None:
    details = {
        "errors": [f"drive: cannot reach mysql://backup:{SECRET}@db/shop"],
        "nested": {"error": f"password={SECRET}"},
        "file_size": 12,
    }
    with caplog.at_level(logging.INFO, logger="backup.audit"):
        Auditor(catalog, SystemClock()).record("ops@example.com", AuditAction.DELETE, "bk-3", details)
    [stored] = catalog.list_logs()
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(stored.details)
    assert stored.details["file_size"] == 12
    assert stored.details["errors"] == ["drive: cannot reach mysql://backup:***@db/shop"]


def test_a_denied_caller_is_refused_with_403_when_the_audit_store_fails(
    tmp_path: Path, catalog: SQLiteCatalog
) -> None:
    lose_the_audit_table(tmp_path / "catalog.sqlite3")
    with CertsServer("aud") as certs:
        guard = AccessGuard(
            TokenVerifier(["aud"], certs.url),
            {"backups.view": ["user:ops@example.com"]},
            Auditor(catalog, SystemClock()),
        )
        with pytest.raises(PermissionDeniedError):
            guard.admit("Bearer " + certs.mint("stranger@example.com"), "backups.view", "list_backups")


def test_a_failed_backup_keeps_its_error_and_its_mail_when_the_audit_store_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nothing_listens = closed_port_url().removeprefix("http://")
    url = parse_database_url(f"mysql://backup:pw@{nothing_listens}/shop")
    context = build_context(Config(database_url=url, home=tmp_path))
    lose_the_audit_table(context.config.catalog_path)
    with pytest.raises(DumpError, match="Cannot reach MySQL"), caplog.at_level(logging.INFO):
        BackupService(context).create("ops@example.com")
    [backup] = context.catalog.list_backups().backups
    assert backup.status is BackupStatus.FAILED
    mails = [r for r in caplog.records if r.name == "backup.notify" and r.levelno == logging.ERROR]
    assert [json.loads(r.getMessage())["notification"]["kind"] for r in mails] == ["backup_failed"]
