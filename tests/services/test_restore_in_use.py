"""The backup a restore loads is in use from the moment its pre-restore backup starts: a delete is refused
and retention keeps it for as long as that backup takes, not only once the load has begun."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from shared.catalog.base import BackupFilter
from shared.clock import FixedClock
from shared.dburl import DatabaseURL
from shared.errors import BusyError
from shared.models import BackupSettings, BackupSource, BackupStatus
from shared.services.backups import BackupService
from shared.services.cleanup import CleanupService
from shared.services.context import ServiceContext
from shared.services.records import RecordService
from shared.services.restore import RestoreService
from tests.databases import fresh_mysql_database
from tests.open_transactions import table_locked
from tests.sample_data import load_sample
from tests.services.conftest import make_context

WAIT = 60.0


@pytest.fixture
def database() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("inuse") as url:
        load_sample(url)
        yield url


def _taking_pre_restore_backup(context: ServiceContext) -> bool:
    running = BackupFilter(source=BackupSource.PRE_RESTORE, status=BackupStatus.RUNNING)
    return bool(context.catalog.list_backups(running).backups)


def test_the_backup_being_restored_is_in_use_while_its_pre_restore_backup_is_taken(
    database: DatabaseURL, tmp_path: Path, clock: FixedClock
) -> None:
    context = make_context(tmp_path / "home", database, clock)
    context.catalog.save_settings(BackupSettings(retention_daily=1, retention_weekly=0, retention_monthly=0))
    older = BackupService(context).create("alice")
    clock.advance(timedelta(minutes=1))
    BackupService(context).create("alice")  # the newer one of the day: daily=1 would delete `older`
    errors: list[BaseException] = []

    def restore() -> None:
        try:
            RestoreService(context, BackupService(context)).restore(older.id, "bob")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with table_locked(database, "orders"):  # the pre-restore dump waits to read it
        worker = threading.Thread(target=restore)
        worker.start()
        for _ in range(int(WAIT / 0.05)):
            if _taking_pre_restore_backup(context) or not worker.is_alive():
                break
            threading.Event().wait(0.05)
        assert _taking_pre_restore_backup(context), errors

        with pytest.raises(BusyError, match=f"backup {older.id} is being restored"):
            RecordService(context).delete(older.id, "carol")
        cleanup = CleanupService(context.catalog, context.storages, context.auditor, context.clock)
        plan = cleanup.run("carol", dry_run=True).to_dict()
        assert {"id": older.id, "reasons": ["restoring"]} in plan["keep"]
        assert older.id not in [doomed["id"] for doomed in plan["delete"]]
    worker.join(WAIT)
    assert not worker.is_alive() and errors == []

    [pre] = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    assert pre.status is BackupStatus.COMPLETED and pre.restoring is None
    RecordService(context).delete(older.id, "carol")  # the restore has ended: no longer in use


def test_a_pre_restore_backup_that_fails_leaves_the_backup_free(
    database: DatabaseURL, tmp_path: Path, clock: FixedClock
) -> None:
    context = make_context(tmp_path / "home", database, clock)
    backup = BackupService(context).create("alice")

    def fail_the_pre_restore_backup(phase: str, read: int, stored: int) -> None:
        if phase == "pre-restore backup":
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        RestoreService(context, BackupService(context)).restore(
            backup.id, "bob", phase_progress=fail_the_pre_restore_backup
        )
    [pre] = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    assert pre.status is BackupStatus.FAILED and pre.restoring is None
    RecordService(context).delete(backup.id, "carol")  # no restore goes on: nothing holds it
