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
from tests.databases import fresh_mysql_database, fresh_postgres_database
from tests.functions.conftest import RecordingNotifier
from tests.sample_data import add_incompressible_rows, execute, fingerprint, load_sample
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


RESTORE_TICKS = 100.0
"""Seconds a whole restore's load takes on the test's clock, moved as the stored file is read."""


@pytest.mark.parametrize(
    ("engine", "connections", "kept_for_a_put_back"),
    [("postgresql", 1, False), ("postgresql", 2, True), ("mysql", 1, True)],
)
def test_a_restore_keeps_time_for_its_put_back_only_once_one_would_be_needed(
    tmp_path: Path, clock: FixedClock, engine: str, connections: int, kept_for_a_put_back: bool
) -> None:
    """With twice a load's time as the limit, a restore that can still be rolled back runs to its end; one
    that has committed (MySQL from the start, PostgreSQL over 2 connections from its first large table on)
    stops while putting the database back, at the same pace, still fits in what is left."""
    fresh = fresh_mysql_database if engine == "mysql" else fresh_postgres_database
    with fresh("svcreserve") as url:
        load_sample(url)
        add_incompressible_rows(url, rows=450_000)  # ~30 MB of SQL: a COPY block past 8 MiB
        config = Config(
            database_url=url,
            home=tmp_path / "home",
            time_limit_seconds=int(2 * RESTORE_TICKS),
            postgres_restore_connections=connections,
        )
        context = build_context(config, clock)
        ticks = ManualTicks()
        context.ticks = ticks
        backups = BackupService(context)
        backup = backups.create("alice")
        assert backup.file_size is not None and backup.file_size > 10 * 2**20
        execute(url, ["UPDATE customers SET name = 'changed since'"])
        before = fingerprint(url)
        start = ticks.now

        def reading(done: int, stored: int) -> None:
            assert backup.file_size is not None
            ticks.now = start + RESTORE_TICKS * stored / backup.file_size

        restores = RestoreService(context, backups)
        if not kept_for_a_put_back:
            restores.restore(backup.id, "alice", progress=reading)
            assert fingerprint(url) != before
            return
        with pytest.raises(RestoreError) as info:
            restores.restore(backup.id, "alice", progress=reading)
        message = str(info.value)
        assert "keeping the" in message and "that putting the database back takes" in message
        assert "put back as it was" in message
        assert fingerprint(url) == before
        logs = context.catalog.list_logs(backup.id)
        [failed] = [log for log in logs if log.details.get("outcome") == "failed"]
        assert failed.details["put_back"] is True and failed.details["database_as_before"] is True
