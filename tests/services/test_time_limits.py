"""A backup or restore that reaches BACKUP_TIME_LIMIT_SECONDS fails the ordinary way while it still can:
the record failed and no file left, or the database as it was; never a run the platform froze half-way."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, engine_for
from shared.errors import RestoreError, TimeLimitError
from shared.models import BackupSource, BackupStatus
from shared.notify.base import NotificationKind
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.restore import RestoreService
from shared.wiring import build_context
from tests.functions.conftest import RecordingNotifier
from tests.sample_data import execute, fingerprint
from tests.ticks import ManualTicks, SteppingTicks

LIMIT = 600


def _context(
    url: DatabaseURL, home: Path, clock: FixedClock, ticks: ManualTicks | SteppingTicks
) -> tuple[ServiceContext, RecordingNotifier]:
    context = build_context(Config(database_url=url, home=home, time_limit_seconds=LIMIT), clock)
    context.ticks = ticks
    notifier = RecordingNotifier()
    context.notifier = notifier
    return context, notifier


def _stored_files(context: ServiceContext) -> list[str]:
    folder = context.config.local_backup_dir
    return sorted(path.name for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def test_a_backup_past_its_time_limit_is_failed_mailed_and_leaves_no_file(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    context, notifier = _context(db_url, tmp_path / "home", clock, SteppingTicks(step=LIMIT))
    with pytest.raises(TimeLimitError, match="BACKUP_TIME_LIMIT_SECONDS") as info:
        BackupService(context).create("alice")
    assert str(info.value).startswith("the backup was stopped after")
    [backup] = context.catalog.list_backups().backups
    assert backup.status is BackupStatus.FAILED and backup.sha256 is None
    assert backup.error_message is not None and "time limit of 600 s" in backup.error_message
    assert _stored_files(context) == []
    assert [n.kind for n in notifier.sent] == [NotificationKind.BACKUP_FAILED]


def test_a_restore_past_its_time_limit_leaves_the_database_as_it_was(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    ticks = ManualTicks()
    context, notifier = _context(db_url, tmp_path / "home", clock, ticks)
    backups = BackupService(context)
    backup = backups.create("alice")
    execute(db_url, ["DELETE FROM orders WHERE id % 2 = 0"])
    before = fingerprint(db_url)

    def slow_reading(done: int, stored: int) -> None:
        ticks.advance(LIMIT + 1)  # the restore's first chunk comes after its limit

    with pytest.raises(RestoreError) as info:
        RestoreService(context, backups).restore(backup.id, "alice", progress=slow_reading)
    message = str(info.value)
    assert "the restore was stopped after" in message and "BACKUP_TIME_LIMIT_SECONDS" in message
    assert fingerprint(db_url) == before
    if db_url.engine == "mysql":
        assert "put back as it was" in message
    else:
        assert "left as it was" in message and "was not needed to put it back" in message
    pre = [b for b in context.catalog.list_backups().backups if b.source is BackupSource.PRE_RESTORE]
    assert [b.status for b in pre] == [BackupStatus.COMPLETED] and pre[0].restoring is None
    [failed] = [log for log in context.catalog.list_logs(backup.id) if log.details.get("outcome") == "failed"]
    assert failed.details["put_back"] is (db_url.engine == "mysql")
    assert [n.kind for n in notifier.sent] == [NotificationKind.RESTORE_FAILED]


def test_a_restore_whose_check_of_the_file_outlasts_the_limit_touches_nothing(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    ticks = SteppingTicks(step=0)
    context, _ = _context(db_url, tmp_path / "home", clock, ticks)
    backups = BackupService(context)
    backup = backups.create("alice")
    execute(db_url, ["DELETE FROM orders WHERE id % 2 = 0"])
    before = fingerprint(db_url)
    ticks.step = LIMIT
    with pytest.raises(TimeLimitError, match=f"checking the file of backup {backup.id} was stopped"):
        RestoreService(context, backups).restore(backup.id, "alice")
    assert fingerprint(db_url) == before
    assert [b.id for b in context.catalog.list_backups().backups] == [backup.id], "no pre-restore backup"
    logs = context.catalog.list_logs(backup.id)
    [refused] = [log for log in logs if log.details.get("outcome") == "refused"]
    assert refused.details["database_touched"] is False


def test_a_mysql_restore_always_keeps_time_for_a_put_back_a_postgres_one_from_its_first_commit() -> None:
    """The PostgreSQL engine turns at its restore's first commit (`test_lock_steps`, `test_parallel_copy`)."""
    mysql = DatabaseURL(engine="mysql", database="shop", user="app", host="127.0.0.1", port=3306)
    postgres = DatabaseURL(engine="postgresql", database="shop", user="app", host="127.0.0.1", port=5432)
    assert engine_for(postgres, DumpOptions(postgres_restore_connections=1)).restores_in_one_transaction
    assert engine_for(postgres, DumpOptions(postgres_restore_connections=2)).restores_in_one_transaction
    assert not engine_for(mysql, DumpOptions()).restores_in_one_transaction
