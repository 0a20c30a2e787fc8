"""Property 18 for operations refused or stopped before they audit anything of their own: a busy database,
a missing or unfinished backup, a file that is no dump, a cleanup that cannot run. Each leaves exactly one
entry, with the actor, the error (redacted) and the backup id where there is one; an operation that audits
its own failure gets no second entry."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.catalog.base import BackupFilter
from shared.errors import BusyError, InvalidInputError, NotFoundError, StorageError
from shared.models import AuditAction, BackupLog, BackupSource, BackupStatus, StorageKind
from shared.services.backups import BackupService
from shared.services.cleanup import LOCK_NAME, CleanupService
from shared.services.context import ServiceContext
from shared.services.importer import ImportService
from shared.services.locking import lock_name
from shared.services.records import RecordService, change_lock_name
from shared.services.restore import RestoreService
from tests.catalog.strategies import make_backup


def _entries(context: ServiceContext, action: AuditAction) -> list[BackupLog]:
    return [log for log in context.catalog.list_logs(limit=1000) if log.action is action]


@contextmanager
def _held(context: ServiceContext, lock: str) -> Iterator[None]:
    assert context.catalog.acquire_lock(lock, "another-run", context.clock.now(), context.lock_ttl)
    try:
        yield
    finally:
        context.catalog.release_lock(lock, "another-run")


def _database_lock(context: ServiceContext) -> str:
    return lock_name(context.config.require_database())


def test_a_backup_refused_while_busy_is_audited_once(context: ServiceContext, backups: BackupService) -> None:
    with _held(context, _database_lock(context)), pytest.raises(BusyError):
        backups.create("alice")
    [refused] = _entries(context, AuditAction.CREATE)
    assert refused.actor == "alice" and refused.backup_id is None
    assert refused.details["outcome"] == "refused" and "is running" in refused.details["error"]
    assert refused.details["source"] == "manual"
    assert context.catalog.list_backups().backups == []


def test_a_failed_backup_is_audited_once(context: ServiceContext, backups: BackupService) -> None:
    def fail(raw: int, stored: int) -> None:
        raise OSError(5, "Input/output error")

    with pytest.raises(OSError):
        backups.create("alice", progress=fail)
    [failed] = _entries(context, AuditAction.CREATE)
    assert failed.details["outcome"] == "failed" and failed.backup_id is not None


def test_a_restore_of_a_missing_backup_is_audited_once(
    context: ServiceContext, restores: RestoreService
) -> None:
    missing = "0123456789abcdef"
    with pytest.raises(NotFoundError):
        restores.restore(missing, "alice")
    [refused] = _entries(context, AuditAction.RESTORE)
    assert (refused.actor, refused.backup_id, refused.details["outcome"]) == ("alice", missing, "refused")


def test_a_restore_of_a_backup_not_completed_is_audited_once(
    context: ServiceContext, restores: RestoreService
) -> None:
    failed = make_backup("00000000000000aa", status=BackupStatus.FAILED)
    context.catalog.add_backup(failed)
    with pytest.raises(InvalidInputError, match="not completed"):
        restores.restore(failed.id, "alice")
    [refused] = _entries(context, AuditAction.RESTORE)
    assert refused.backup_id == failed.id and refused.details["outcome"] == "refused"


def test_a_restore_refused_while_busy_is_audited_once(
    context: ServiceContext, backups: BackupService, restores: RestoreService
) -> None:
    backup = backups.create("alice")
    with _held(context, _database_lock(context)), pytest.raises(BusyError):
        restores.restore(backup.id, "bob")
    [refused] = _entries(context, AuditAction.RESTORE)
    assert (refused.actor, refused.backup_id, refused.details["outcome"]) == ("bob", backup.id, "refused")
    assert context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups == []


def test_a_restore_that_audits_its_own_refusal_gets_no_second_entry(
    context: ServiceContext, backups: BackupService, restores: RestoreService
) -> None:
    backup = backups.create("alice")
    for path in context.config.local_backup_dir.rglob("*"):
        if path.is_file():
            path.unlink()  # found missing once the restore has started
    with pytest.raises(NotFoundError):
        restores.restore(backup.id, "alice")
    outcomes = [log.details["outcome"] for log in reversed(_entries(context, AuditAction.RESTORE))]
    assert outcomes == ["started", "refused"]


def test_an_import_of_a_file_that_is_no_dump_is_audited_once(context: ServiceContext, tmp_path: Path) -> None:
    path = tmp_path / "notes.sql"
    path.write_text("SELECT 1;\n")
    with pytest.raises(InvalidInputError):
        ImportService(context).import_file(path, "alice")
    [refused] = _entries(context, AuditAction.IMPORT)
    assert refused.actor == "alice" and refused.backup_id is None
    assert refused.details["outcome"] == "refused" and refused.details["file"] == "notes.sql"


def test_an_import_cut_short_is_audited_once_with_its_id(context: ServiceContext, tmp_path: Path) -> None:
    path = tmp_path / "cut.sql.gz"
    path.write_bytes(gzip.compress(b"-- PostgreSQL database dump\nCREATE TABLE t (id int);\n"))  # no trailer
    with pytest.raises(InvalidInputError):
        ImportService(context).import_file(path, "alice")
    [refused] = _entries(context, AuditAction.IMPORT)
    assert refused.details["outcome"] == "refused" and refused.backup_id is not None
    assert context.catalog.list_backups().backups == []


def _cleanup(context: ServiceContext) -> CleanupService:
    return CleanupService(context.catalog, context.storages, context.auditor, context.clock)


def test_a_cleanup_refused_while_another_runs_is_audited_once(context: ServiceContext) -> None:
    with _held(context, LOCK_NAME), pytest.raises(BusyError):
        _cleanup(context).run("alice", dry_run=False)
    [refused] = _entries(context, AuditAction.CLEANUP)
    assert refused.actor == "alice" and refused.backup_id is None
    assert refused.details["outcome"] == "refused" and "another cleanup" in refused.details["error"]


def test_a_cleanup_stopped_by_an_error_is_audited_once(
    context: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable() -> None:
        raise OSError("disk I/O error reading the settings of postgres://u:hunter2@h/db")

    monkeypatch.setattr(context.catalog, "get_settings", unreadable)
    with pytest.raises(OSError):
        _cleanup(context).run("alice", dry_run=False)
    [failed] = _entries(context, AuditAction.CLEANUP)
    assert failed.details["outcome"] == "failed" and "disk I/O error" in failed.details["error"]
    assert "hunter2" not in failed.details["error"]


def test_a_delete_of_a_missing_backup_is_audited_once(context: ServiceContext) -> None:
    missing = "0123456789abcdef"
    with pytest.raises(NotFoundError):
        RecordService(context).delete(missing, "alice")
    [refused] = _entries(context, AuditAction.DELETE)
    assert (refused.actor, refused.backup_id, refused.details["outcome"]) == ("alice", missing, "refused")


def test_a_delete_or_protect_refused_while_the_backup_is_changed_is_audited_once(
    context: ServiceContext, backups: BackupService
) -> None:
    backup = backups.create("alice")
    records = RecordService(context)
    with _held(context, change_lock_name(backup.id)):
        with pytest.raises(BusyError):
            records.delete(backup.id, "bob")
        with pytest.raises(BusyError):
            records.set_protected(backup.id, True, "bob")
    for action in (AuditAction.DELETE, AuditAction.PROTECT):
        [refused] = _entries(context, action)
        assert (refused.actor, refused.backup_id, refused.details["outcome"]) == ("bob", backup.id, "refused")
    assert context.catalog.get_backup(backup.id).status is BackupStatus.COMPLETED


def test_a_delete_that_audits_its_own_failure_gets_no_second_entry(
    context: ServiceContext, backups: BackupService
) -> None:
    backup = backups.create("alice")
    location = backup.location(StorageKind.LOCAL)
    assert location is not None
    copy = context.config.local_backup_dir / location.ref
    copy.unlink()
    (copy / "in-the-way").mkdir(parents=True)  # a folder where the file was: it cannot be removed
    with pytest.raises(StorageError):
        RecordService(context).delete(backup.id, "alice")
    outcomes = [log.details["outcome"] for log in _entries(context, AuditAction.DELETE)]
    assert outcomes == ["failed"]
