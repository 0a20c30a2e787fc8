"""A record write that failed may have been applied, and a run may stall past its lock while the next one
settles its record: in either case no record says completed without its file, and no file of a completed
record is deleted."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import CatalogUnavailableError, LockLostError
from shared.models import AuditAction, BackupStatus, StorageKind
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.importer import ImportService
from shared.services.interrupted import settle_if_abandoned
from shared.services.locking import lock_name
from shared.services.restore import RestoreService
from shared.storage.base import Storage, Upload
from shared.wiring import build_context
from tests.sample_data import fingerprint
from tests.services.unanswered_writes import flaky_context


def _stored_files(context: ServiceContext) -> list[str]:
    folder = context.config.local_backup_dir
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


def test_a_completion_write_applied_but_unanswered_keeps_the_backup_restorable(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    context, catalog = flaky_context(tmp_path / "home", db_url, clock)
    original = fingerprint(db_url)
    catalog.lost = lambda backup: backup.status is BackupStatus.COMPLETED
    with pytest.raises(CatalogUnavailableError):
        BackupService(context).create("alice")
    catalog.lost = lambda backup: False
    [backup] = catalog.list_backups().backups
    assert backup.status is BackupStatus.COMPLETED and backup.sha256 is not None
    assert _stored_files(context) == [backup.filename], "a completed record lost its file"
    [created] = [log for log in catalog.list_logs(backup.id) if log.action is AuditAction.CREATE]
    assert created.details["outcome"] == "completed" and created.details["sha256"] == backup.sha256
    RestoreService(context, BackupService(context)).restore(backup.id, "alice")
    assert fingerprint(db_url) == original


class _StallingAfterCommit:
    """A storage whose upload, once committed, stalls (`stall` runs) before the backup is recorded."""

    def __init__(self, inner: Storage, stall: Callable[[], None]) -> None:
        self._inner = inner
        self._stall = stall

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def begin(self, filename: str) -> Upload:
        upload = self._inner.begin(filename)
        commit = upload.commit

        def commit_then_stall(sha256: str, size: int) -> str:
            ref = commit(sha256, size)
            self._stall()
            return ref

        upload.commit = commit_then_stall  # type: ignore[method-assign]
        return upload


def test_a_run_that_stalled_past_its_lock_leaves_the_record_as_the_next_run_settled_it(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    context = build_context(Config(database_url=db_url, home=tmp_path / "home"), clock)
    settled: list[bool] = []

    def stall_while_the_next_run_settles() -> None:
        clock.advance(2 * context.lock_ttl + timedelta(seconds=1))
        settled.append(settle_if_abandoned(context, lock_name(db_url), "the next run"))

    local = context.storages[StorageKind.LOCAL]
    context.storages[StorageKind.LOCAL] = _StallingAfterCommit(local, stall_while_the_next_run_settles)  # type: ignore[assignment]
    with pytest.raises(LockLostError, match="stopped before recording it as completed"):
        BackupService(context).create("alice")
    assert settled == [True]
    [backup] = context.catalog.list_backups().backups
    assert backup.status is BackupStatus.FAILED and backup.error_message is not None
    assert backup.error_message.startswith("interrupted")
    assert _stored_files(context) == []
    outcomes = [log.details.get("outcome") for log in context.catalog.list_logs(backup.id)]
    assert "interrupted" in outcomes
    assert not [
        log
        for log in context.catalog.list_logs(backup.id)
        if log.action is AuditAction.CREATE and log.details.get("outcome") is None
    ], "audited as created"


def _postgres_dump(tmp_path: Path) -> Path:
    sql = "-- PostgreSQL database dump\nCREATE TABLE t (id int);\n-- PostgreSQL database dump complete\n"
    path = tmp_path / "dump.sql.gz"
    path.write_bytes(gzip.compress(sql.encode()))
    return path


def test_an_import_whose_record_was_stored_unanswered_is_imported(tmp_path: Path, clock: FixedClock) -> None:
    context, catalog = flaky_context(tmp_path / "home", None, clock)
    catalog.lost = lambda backup: True
    imported = ImportService(context).import_file(_postgres_dump(tmp_path), "alice")
    catalog.lost = lambda backup: False
    assert catalog.get_backup(imported.id).status is BackupStatus.COMPLETED
    assert _stored_files(context) == [imported.filename]


def test_an_import_whose_record_was_not_stored_leaves_no_file(tmp_path: Path, clock: FixedClock) -> None:
    context, catalog = flaky_context(tmp_path / "home", None, clock)
    catalog.lost, catalog.applied = (lambda backup: True), False
    with pytest.raises(CatalogUnavailableError):
        ImportService(context).import_file(_postgres_dump(tmp_path), "alice")
    assert catalog.list_backups().backups == []
    assert _stored_files(context) == []
