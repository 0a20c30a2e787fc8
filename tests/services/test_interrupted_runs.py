"""A run killed mid-way (a function timeout, a lost instance) cannot report itself: the next run on the
database fails its backup record or reports its restore, audits and mails it, and keeps the pre-restore
backup. The runs here are real `python main.py` processes, killed with SIGKILL while a table lock held by
another session holds them up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.catalog.base import BackupFilter
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import BusyError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus
from shared.notify.base import DatabaseAfter, NotificationKind
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.interrupted import RECENT_PRE_RESTORE_BACKUPS
from shared.services.locking import lock_name
from shared.services.records import RecordService
from shared.wiring import build_context
from tests.catalog.strategies import make_backup
from tests.databases import fresh_mysql_database
from tests.functions.conftest import RecordingNotifier
from tests.open_transactions import table_locked
from tests.sample_data import load_sample

ROOT = Path(__file__).resolve().parents[2]
LATER = timedelta(hours=2)
"""The next run comes after the killed run's lock has expired."""


@pytest.fixture
def database() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("crash") as url:
        load_sample(url)
        yield url


def _config(url: DatabaseURL, home: Path) -> Config:
    return Config(database_url=url, home=home)


def _next_run(url: DatabaseURL, home: Path) -> tuple[ServiceContext, RecordingNotifier]:
    context = build_context(_config(url, home), FixedClock(datetime.now(UTC) + LATER))
    notifier = RecordingNotifier()
    context.notifier = notifier
    return context, notifier


def _killed_when(
    args: list[str], url: DatabaseURL, home: Path, ready: Callable[[SQLiteCatalog], bool]
) -> None:
    """Run `python main.py ARGS` and SIGKILL it once `ready` says it is where it should die."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_")}
    env.update(
        BACKUP_DATABASE_URL=f"mysql://{url.user}@{url.host}:{url.port}/{url.database}", BACKUP_HOME=str(home)
    )
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (home.exists() and ready(SQLiteCatalog(_config(url, home).catalog_path))):
            assert process.poll() is None, (
                f"the run ended by itself: {process.stderr.read() if process.stderr else ''}"
            )
            assert time.monotonic() < deadline, "the run never got where it should be killed"
            time.sleep(0.05)
        time.sleep(0.3)  # well inside the statement the table lock holds up
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def _restore_killed(
    url: DatabaseURL, tmp_path: Path, lock_mode: str, ready: Callable[[SQLiteCatalog], bool]
) -> tuple[Backup, ServiceContext, RecordingNotifier, Backup]:
    """Back up, then run a restore of that backup, held up by `LOCK TABLES orders <lock_mode>`, and SIGKILL
    it once `ready`; the backup, the next run's context and notifier, and the dead restore's pre-restore
    backup."""
    home = tmp_path / "home"
    context, _ = _next_run(url, home)
    backup = BackupService(context).create("alice")
    with table_locked(url, "orders", lock_mode):
        _killed_when(["restore", backup.id, "--force"], url, home, ready)
    context, notifier = _next_run(url, home)
    [pre] = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    return backup, context, notifier, pre


def _running(catalog: SQLiteCatalog) -> bool:
    return bool(catalog.list_backups(BackupFilter(status=BackupStatus.RUNNING)).backups)


def _loading(catalog: SQLiteCatalog) -> bool:
    """The restore has its pre-restore backup and loads the backup being restored."""
    pre = catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    return any(backup.restoring and backup.status is BackupStatus.COMPLETED for backup in pre)


def test_a_backup_killed_mid_dump_is_failed_and_mailed_by_the_next_run(
    database: DatabaseURL, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with table_locked(database, "orders"):  # the dump waits to read the table
        _killed_when(["create"], database, home, _running)
    context, notifier = _next_run(database, home)
    [killed] = context.catalog.list_backups().backups
    assert killed.status is BackupStatus.RUNNING

    fresh = BackupService(context).create("bob")

    assert fresh.status is BackupStatus.COMPLETED
    failed = context.catalog.get_backup(killed.id)
    assert failed.status is BackupStatus.FAILED and failed.locations == []
    assert failed.error_message is not None and failed.error_message.startswith("interrupted: ")
    [mail] = notifier.sent
    assert (mail.kind, mail.backup_id) == (NotificationKind.BACKUP_FAILED, killed.id)
    [entry] = [
        log for log in context.catalog.list_logs(killed.id) if log.details.get("outcome") == "interrupted"
    ]
    assert entry.action is AuditAction.CREATE and entry.details["found_by"] == "bob"
    assert [p.name for p in context.config.local_backup_dir.iterdir()] == [fresh.filename]


def test_a_backup_killed_mid_dump_can_be_deleted_at_once(database: DatabaseURL, tmp_path: Path) -> None:
    """No need to wait for the next backup: deleting the record finds its run gone, fails it, then deletes."""
    home = tmp_path / "home"
    with table_locked(database, "orders"):
        _killed_when(["create"], database, home, _running)
    context, notifier = _next_run(database, home)
    [killed] = context.catalog.list_backups().backups

    RecordService(context).delete(killed.id, "ops")

    assert context.catalog.list_backups().backups == []
    assert [(mail.kind, mail.backup_id) for mail in notifier.sent] == [
        (NotificationKind.BACKUP_FAILED, killed.id)
    ]
    assert list(context.config.local_backup_dir.iterdir()) == []
    outcomes = [log.details.get("outcome") for log in context.catalog.list_logs(killed.id)]
    assert outcomes[:2] == ["deleted", "interrupted"]


def test_a_running_backup_whose_run_is_alive_cannot_be_deleted(database: DatabaseURL, tmp_path: Path) -> None:
    context, notifier = _next_run(database, tmp_path / "home")
    lock = lock_name(database)
    running = _record(context, "running", BackupStatus.RUNNING, run_lock=lock)
    assert context.catalog.acquire_lock(lock, "the-live-run", context.clock.now(), timedelta(minutes=10))
    with pytest.raises(BusyError, match="still running"):
        RecordService(context).delete(running.id, "ops")
    assert context.catalog.get_backup(running.id) == running and notifier.sent == []


def test_a_restore_killed_mid_way_is_reported_and_its_pre_restore_backup_kept(
    database: DatabaseURL, tmp_path: Path
) -> None:
    # The pre-restore dump reads the table; the restore cannot drop it.
    backup, context, notifier, pre = _restore_killed(database, tmp_path, "READ", _loading)
    assert pre.status is BackupStatus.COMPLETED and pre.restoring == backup.id and not pre.is_protected

    BackupService(context).create("bob")

    kept = context.catalog.get_backup(pre.id)
    assert kept.is_protected and kept.restoring is None and kept.warnings
    [mail] = notifier.sent
    assert (mail.kind, mail.backup_id) == (NotificationKind.RESTORE_FAILED, backup.id)
    assert pre.id in mail.error and "incomplete" in mail.error and mail.facts["pre-restore backup"] == pre.id
    assert mail.variant == DatabaseAfter.MAY_BE_INCOMPLETE
    [entry] = [
        log for log in context.catalog.list_logs(backup.id) if log.details.get("outcome") == "interrupted"
    ]
    assert entry.action is AuditAction.RESTORE and entry.details["pre_restore_backup_id"] == pre.id
    assert entry.details["database_touched"] is True


def test_a_restore_killed_while_taking_its_pre_restore_backup_is_reported_as_not_started(
    database: DatabaseURL, tmp_path: Path
) -> None:
    # The pre-restore dump waits to read the table.
    backup, context, notifier, pre = _restore_killed(database, tmp_path, "WRITE", _running)
    assert pre.status is BackupStatus.RUNNING and pre.restoring == backup.id

    BackupService(context).create("bob")

    settled = context.catalog.get_backup(pre.id)
    assert settled.status is BackupStatus.FAILED and settled.restoring is None and not settled.is_protected
    [mail] = notifier.sent  # the restore's, which says it all; not one for the pre-restore backup too
    assert (mail.kind, mail.backup_id) == (NotificationKind.RESTORE_FAILED, backup.id)
    assert "before it changed the database" in mail.error and "incomplete" not in mail.error
    assert mail.variant == DatabaseAfter.UNCHANGED
    [entry] = [
        log
        for log in context.catalog.list_logs(backup.id)
        if log.action is AuditAction.RESTORE and log.details.get("outcome") == "interrupted"
    ]
    assert entry.details["database_touched"] is False and entry.details["pre_restore_backup_id"] == pre.id
    RecordService(context).delete(backup.id, "carol")  # no restore holds it any more


def test_records_of_other_databases_and_of_imports_are_left_alone(
    database: DatabaseURL, tmp_path: Path
) -> None:
    context, notifier = _next_run(database, tmp_path / "home")
    elsewhere = _record(context, "elsewhere", BackupStatus.RUNNING, run_lock="db-another-database")
    importing = _record(context, "importing", BackupStatus.RUNNING, run_lock=None)
    restoring_elsewhere = _record(
        context,
        "pre-elsewhere",
        BackupStatus.COMPLETED,
        run_lock="db-another-database",
        source=BackupSource.PRE_RESTORE,
        restoring="some-backup",
    )
    pending_here = _record(context, "pending-here", BackupStatus.PENDING, run_lock=lock_name(database))

    BackupService(context).create("bob")

    assert context.catalog.get_backup(elsewhere.id) == elsewhere
    assert context.catalog.get_backup(importing.id) == importing
    assert context.catalog.get_backup(restoring_elsewhere.id) == restoring_elsewhere
    assert context.catalog.get_backup(pending_here.id).status is BackupStatus.FAILED
    assert [mail.backup_id for mail in notifier.sent] == [pending_here.id]


def test_a_killed_scheduled_attempt_is_mailed_as_one_that_scheduler_retries(
    database: DatabaseURL, tmp_path: Path
) -> None:
    context, notifier = _next_run(database, tmp_path / "home")
    killed = _record(context, "killed", BackupStatus.RUNNING, lock_name(database), BackupSource.SCHEDULED)

    BackupService(context).create("bob")

    [mail] = notifier.sent
    assert mail.backup_id == killed.id and mail.error.startswith("interrupted: the run taking this backup")
    assert "an attempt of a scheduled run, which Scheduler retries" in mail.error


def _record(
    context: ServiceContext,
    backup_id: str,
    status: BackupStatus,
    run_lock: str | None,
    source: BackupSource = BackupSource.MANUAL,
    restoring: str | None = None,
    created_at: datetime | None = None,
) -> Backup:
    backup = make_backup(
        backup_id,
        created_at or context.clock.now(),
        status=status,
        run_lock=run_lock,
        source=source,
        restoring=restoring,
    )
    context.catalog.add_backup(backup)
    return backup


def test_an_interrupted_restore_is_found_behind_newer_restores_of_other_databases(
    database: DatabaseURL, tmp_path: Path
) -> None:
    context, notifier = _next_run(database, tmp_path / "home")
    when = context.clock.now() - timedelta(days=1)
    interrupted = _record(
        context,
        "pre-here",
        BackupStatus.COMPLETED,
        run_lock=lock_name(database),
        source=BackupSource.PRE_RESTORE,
        restoring="restored-here",
        created_at=when,
    )
    for number in range(RECENT_PRE_RESTORE_BACKUPS + 5):
        _record(
            context,
            f"pre-elsewhere-{number}",
            BackupStatus.COMPLETED,
            run_lock="db-another-database",
            source=BackupSource.PRE_RESTORE,
            created_at=when + timedelta(minutes=number + 1),
        )

    BackupService(context).create("bob")

    assert context.catalog.get_backup(interrupted.id).is_protected
    assert [(mail.kind, mail.backup_id) for mail in notifier.sent] == [
        (NotificationKind.RESTORE_FAILED, "restored-here")
    ]
