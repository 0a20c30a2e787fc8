"""Property 18 on the command line: a create, restore, import or cleanup refused before it starts leaves
exactly one audit entry, as through the functions (the services write it, so both paths share it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli.exit_codes import EXIT_BUSY, EXIT_NOT_FOUND, EXIT_USAGE
from shared.catalog.sqlite import SQLiteCatalog
from shared.dburl import DatabaseURL
from shared.models import AuditAction, BackupLog
from shared.services.cleanup import LOCK_NAME as CLEANUP_LOCK
from shared.services.locking import lock_name
from tests.cli.running import Cli

MISSING = "0123456789abcdef"


def _catalog(cli: Cli) -> SQLiteCatalog:
    return SQLiteCatalog(cli.home / "catalog.sqlite3")


def _entries(cli: Cli, action: AuditAction) -> list[BackupLog]:
    return [log for log in _catalog(cli).list_logs(limit=1000) if log.action is action]


@contextmanager
def _held(cli: Cli, lock: str) -> Iterator[None]:
    catalog = _catalog(cli)
    assert catalog.acquire_lock(lock, "another-run", datetime.now(UTC), timedelta(minutes=5))
    try:
        yield
    finally:
        catalog.release_lock(lock, "another-run")


def _refused(cli: Cli, action: AuditAction) -> BackupLog:
    [entry] = _entries(cli, action)
    assert entry.details["outcome"] == "refused" and entry.details["error"] and entry.actor
    return entry


def test_a_create_while_busy_is_audited_once(cli: Cli, database: DatabaseURL) -> None:
    with _held(cli, lock_name(database)):
        assert cli("create").code == EXIT_BUSY
    assert _refused(cli, AuditAction.CREATE).details["source"] == "cli"


def test_a_restore_of_a_missing_backup_is_audited_once(cli: Cli) -> None:
    assert cli("restore", MISSING, "--force").code == EXIT_NOT_FOUND
    assert _refused(cli, AuditAction.RESTORE).backup_id == MISSING


def test_a_restore_not_confirmed_is_bad_input_and_not_audited(cli: Cli) -> None:
    """As through the functions, where `confirm` not matching `id` is a 400 per field."""
    backup = cli("create", "--json").json
    assert cli("restore", backup["id"], stdin="").code == EXIT_USAGE
    assert _entries(cli, AuditAction.RESTORE) == []


def test_an_import_of_a_file_that_is_no_dump_is_audited_once(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "notes.sql"
    path.write_text("SELECT 1;\n")
    assert cli("import", str(path)).code == EXIT_USAGE
    assert _refused(cli, AuditAction.IMPORT).details["file"] == "notes.sql"


def test_a_cleanup_while_another_runs_is_audited_once(cli: Cli) -> None:
    with _held(cli, CLEANUP_LOCK):
        assert cli("cleanup").code == EXIT_BUSY
    assert _refused(cli, AuditAction.CLEANUP).backup_id is None
