"""Failures at awkward moments: before the first byte, after the last, from the keyboard, in the put-back,
and in a storage that a dead run's leftovers are in. Each leaves no file and no trace unreported."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from cli.interrupts import interruption
from shared.catalog.base import BackupFilter
from shared.clock import FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import BackupServiceError, LockLostError, RestoreError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus, StorageKind
from shared.notify.base import DatabaseAfter, NotificationKind
from shared.pipeline import ProgressCallback
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.importer import ImportService
from shared.services.locking import lock_name
from shared.services.restore import RestoreService
from shared.storage.drive import DriveStorage
from shared.wiring import build_context
from tests.catalog.strategies import make_backup
from tests.databases import fresh_mysql_database, fresh_postgres_database
from tests.fakes.drive_fixtures import drive_fake as drive_fake
from tests.fakes.drive_fixtures import drive_folder as drive_folder
from tests.fakes.drive_fixtures import drive_sleeps as drive_sleeps
from tests.fakes.drive_fixtures import drive_storage as drive_storage
from tests.fakes.drive_server import DriveFake
from tests.functions.conftest import RecordingNotifier
from tests.sample_data import add_incompressible_rows, execute, fingerprint

LEASE_SECONDS = 3
DRIVE_ATTEMPTS = 4
"""The `drive_storage` fixture's retry attempts: Drive out of reach that often fails an upload."""


def _stored_files(context: ServiceContext) -> list[str]:
    folder = context.config.local_backup_dir
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def _assert_failed_without_a_file(context: ServiceContext) -> None:
    with pytest.raises(BackupServiceError):
        BackupService(context).create("bob")
    [record] = context.catalog.list_backups().backups
    assert record.status is BackupStatus.FAILED and record.locations == []
    assert _stored_files(context) == []


def test_a_postgres_server_that_refuses_the_dump_leaves_no_file(tmp_path: Path, clock: FixedClock) -> None:
    with fresh_postgres_database("gone") as url:
        pass
    _assert_failed_without_a_file(build_context(Config(database_url=url, home=tmp_path / "home"), clock))


def test_a_compression_level_out_of_range_leaves_no_file(tmp_path: Path, clock: FixedClock) -> None:
    with fresh_mysql_database("level") as url:
        config = Config(database_url=url, home=tmp_path / "home", compression_level=9)
        _assert_failed_without_a_file(build_context(config, clock))


def test_a_failure_after_the_last_byte_leaves_no_file(
    backups: BackupService, context: ServiceContext
) -> None:
    def progress(raw: int, stored: int) -> None:
        if stored > 0:  # only the call after the compressor's last bytes have been written
            raise OSError(5, "Input/output error")

    with pytest.raises(OSError):
        backups.create("bob", progress=progress)
    [record] = context.catalog.list_backups().backups
    assert record.status is BackupStatus.FAILED and record.locations == []
    assert _stored_files(context) == []


def _on_the_second_read(action: Callable[[], None]) -> ProgressCallback:
    """A progress callback that runs `action` when the restore reads its second chunk: the database has
    been changed by then (a MySQL restore drops and loads as it reads)."""
    reads = 0

    def progress(raw: int, stored: int) -> None:
        nonlocal reads
        reads += 1
        if reads == 2:
            action()

    return progress


def _raise(error: BaseException) -> Callable[[], None]:
    def action() -> None:
        raise error

    return action


def _only_pre_restore_backup(context: ServiceContext) -> Backup:
    [pre] = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    return pre


def _restore_outcome(context: ServiceContext, backup_id: str) -> dict[str, object]:
    [failed] = [log for log in context.catalog.list_logs(backup_id) if log.details.get("outcome") == "failed"]
    assert failed.action is AuditAction.RESTORE
    return failed.details


def test_ctrl_c_during_a_restore_leaves_the_database_as_it_was(
    backups: BackupService, restores: RestoreService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    """MySQL puts the pre-restore backup back; PostgreSQL's one transaction is rolled back, and a
    put-back, as long as the restore itself, would only keep a user who asked to stop waiting."""
    add_incompressible_rows(db_url)
    backup = backups.create("alice")
    execute(db_url, ["DELETE FROM noise WHERE id % 2 = 0"])
    before = fingerprint(db_url)
    with pytest.raises(RestoreError, match="Ctrl-C") as info:
        restores.restore(backup.id, "alice", progress=_on_the_second_read(_raise(KeyboardInterrupt())))
    assert isinstance(interruption(info.value), KeyboardInterrupt), "the command line still exits 130"
    pre = _only_pre_restore_backup(context)
    rolled_back = db_url.engine == "postgresql"
    if rolled_back:
        assert "the database was left as it was" in str(info.value)
    else:
        assert f"put back as it was, from the pre-restore backup {pre.id}" in str(info.value)
    assert fingerprint(db_url) == before
    assert pre.restoring is None and not pre.is_protected
    outcome = _restore_outcome(context, backup.id)
    assert outcome["database_as_before"] is True and outcome["put_back"] is not rolled_back


@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)  # a PostgreSQL restore rolls back instead
def test_a_put_back_that_fails_protects_the_pre_restore_backup_and_says_so(
    backups: BackupService, restores: RestoreService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    notifier = RecordingNotifier()
    context.notifier = notifier
    add_incompressible_rows(db_url)
    backup = backups.create("alice")

    def damage_the_pre_restore_file_then_fail() -> None:
        location = _only_pre_restore_backup(context).location(StorageKind.LOCAL)
        assert location is not None
        (context.config.local_backup_dir / location.ref).write_bytes(b"not the file it was")
        raise ConnectionResetError(104, "Connection reset by peer")

    progress = _on_the_second_read(damage_the_pre_restore_file_then_fail)
    with pytest.raises(RestoreError, match="could NOT be put back") as info:
        restores.restore(backup.id, "alice", progress=progress)
    pre = _only_pre_restore_backup(context)
    assert f"restore backup {pre.id} by hand" in str(info.value) and "protected" in str(info.value)
    assert pre.is_protected and pre.restoring is None
    assert any("protected" in warning for warning in pre.warnings)
    outcome = _restore_outcome(context, backup.id)
    assert outcome["put_back"] is True and outcome["database_as_before"] is False
    assert [mail.backup_id for mail in notifier.sent] == [backup.id]
    assert notifier.sent[0].variant == DatabaseAfter.MAY_BE_INCOMPLETE


def test_a_dead_run_is_settled_even_when_a_storage_cannot_be_reached(
    tmp_path: Path,
    clock: FixedClock,
    drive_fake: DriveFake,
    drive_storage: DriveStorage,
) -> None:
    with fresh_mysql_database("settle") as url:
        context = build_context(Config(database_url=url, home=tmp_path / "home"), clock)
        context.storages[StorageKind.DRIVE] = drive_storage
        context.targets = (StorageKind.LOCAL,)
        dead = make_backup("dead-run", clock.now(), status=BackupStatus.RUNNING, run_lock=lock_name(url))
        context.catalog.add_backup(dead)
        drive_fake.failures.refresh_token_revoked = True

        taken = BackupService(context).create("bob")

        assert taken.status is BackupStatus.COMPLETED
        settled = context.catalog.get_backup(dead.id)
        assert settled.status is BackupStatus.FAILED
        [problem] = settled.warnings
        assert "storage drive" in problem and "delete it by hand" in problem


@pytest.mark.parametrize("out_of_reach_for", [DRIVE_ATTEMPTS, 100])
def test_a_drive_copy_made_but_not_confirmed_is_not_left_behind(
    tmp_path: Path,
    clock: FixedClock,
    drive_fake: DriveFake,
    drive_folder: str,
    drive_storage: DriveStorage,
    out_of_reach_for: int,
) -> None:
    """Drive makes the file with the last chunk; when its answer is lost and Drive is out of reach while
    the upload asks how far it got, the backup completes on local storage only. The Drive file, which no
    record names, is removed, or when Drive stays out of reach, the warning says to delete it by hand."""
    with fresh_mysql_database("unconfirmed") as url:
        context = build_context(Config(database_url=url, home=tmp_path / "home"), clock)
        context.storages[StorageKind.DRIVE] = drive_storage
        context.targets = (StorageKind.LOCAL, StorageKind.DRIVE)
        drive_fake.failures.dropped_chunks[1] = True  # the only chunk, kept
        drive_fake.failures.rate_limited_after_drop = out_of_reach_for
        notifier = RecordingNotifier()
        context.notifier = notifier

        taken = BackupService(context).create("bob")

    assert taken.status is BackupStatus.COMPLETED
    assert [location.kind for location in taken.locations] == [StorageKind.LOCAL]
    assert any(w.startswith("storage drive failed, the backup is kept elsewhere") for w in taken.warnings)
    [mail] = notifier.sent
    assert (mail.kind, mail.variant) == (NotificationKind.DRIVE_UPLOAD_DEGRADED, str(StorageKind.DRIVE))
    left = [file.name for file in drive_fake.files_in(drive_folder)]
    if out_of_reach_for == DRIVE_ATTEMPTS:
        assert left == []
    else:
        assert left == [taken.filename]
        stored = context.catalog.get_backup(taken.id)
        assert stored.status is BackupStatus.COMPLETED
        assert any(taken.filename in w and "delete it by hand" in w for w in stored.warnings), stored.warnings


def _taken_over_on_first_call(context: ServiceContext, url: DatabaseURL) -> ProgressCallback:
    """A progress callback that, on its first call, has another run take the database's lock as if this
    run's lease had lapsed, then waits for this run's heartbeat to find out."""
    calls = 0

    def progress(raw: int, stored: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            later = context.clock.now() + 3 * context.lock_ttl
            assert context.catalog.acquire_lock(lock_name(url), "another-run", later, context.lock_ttl)
            time.sleep(context.lock_ttl.total_seconds() * 0.7)

    return progress


def _short_lease_context(home: Path, url: DatabaseURL, clock: FixedClock) -> ServiceContext:
    return build_context(Config(database_url=url, home=home, lock_ttl_seconds=LEASE_SECONDS), clock)


def test_a_backup_whose_lock_passes_to_another_run_stops(tmp_path: Path, clock: FixedClock) -> None:
    with fresh_mysql_database("lost") as url:
        add_incompressible_rows(url)
        context = _short_lease_context(tmp_path / "home", url, clock)
        with pytest.raises(LockLostError, match="another run has taken it"):
            BackupService(context).create("bob", progress=_taken_over_on_first_call(context, url))
        [record] = context.catalog.list_backups().backups
        assert record.status is BackupStatus.FAILED and _stored_files(context) == []


def test_a_restore_whose_lock_passes_to_another_run_stops_and_puts_nothing_back(
    tmp_path: Path, clock: FixedClock
) -> None:
    with fresh_mysql_database("lost") as url:
        add_incompressible_rows(url)
        context = _short_lease_context(tmp_path / "home", url, clock)
        backups = BackupService(context)
        backup = backups.create("alice")
        clock.advance(timedelta(seconds=LEASE_SECONDS * 10))
        restores = RestoreService(context, backups)
        with pytest.raises(RestoreError, match="could NOT be put back: it was not tried") as info:
            restores.restore(backup.id, "alice", progress=_taken_over_on_first_call(context, url))
        assert "the lock on database" in str(info.value)
        pre = _only_pre_restore_backup(context)
        assert pre.is_protected and pre.restoring is None
        assert _restore_outcome(context, backup.id)["database_as_before"] is False


def test_a_restore_stopped_by_system_exit_is_left_for_the_next_run_to_report(
    backups: BackupService, restores: RestoreService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    """SystemExit (an instance shutting down) leaves no time to put the database back: the restore's mark
    stays, and the next run on the database reports the restore as interrupted and protects its
    pre-restore backup."""
    notifier = RecordingNotifier()
    context.notifier = notifier
    add_incompressible_rows(db_url)
    backup = backups.create("alice")
    with pytest.raises(SystemExit):
        restores.restore(backup.id, "alice", progress=_on_the_second_read(_raise(SystemExit(143))))
    assert _only_pre_restore_backup(context).restoring == backup.id

    backups.create("bob")

    pre = _only_pre_restore_backup(context)
    assert pre.restoring is None and pre.is_protected
    outcomes = [log.details.get("outcome") for log in context.catalog.list_logs(backup.id)]
    assert "interrupted" in outcomes and "failed" not in outcomes
    assert [mail.backup_id for mail in notifier.sent] == [backup.id]


def test_ctrl_c_during_a_backup_fails_it_and_leaves_no_file(
    backups: BackupService, context: ServiceContext
) -> None:
    def ctrl_c(raw: int, stored: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backups.create("bob", progress=ctrl_c)
    [record] = context.catalog.list_backups().backups
    assert record.status is BackupStatus.FAILED
    assert record.error_message == "interrupted from the keyboard (Ctrl-C)"
    assert _stored_files(context) == []


def test_an_import_that_one_storage_fails_is_kept_elsewhere_mailed_and_audited_with_the_warning(
    tmp_path: Path, clock: FixedClock, drive_fake: DriveFake, drive_storage: DriveStorage
) -> None:
    context = build_context(Config(database_url=None, home=tmp_path / "home"), clock)
    context.storages[StorageKind.DRIVE] = drive_storage
    context.targets = (StorageKind.LOCAL, StorageKind.DRIVE)
    notifier = RecordingNotifier()
    context.notifier = notifier
    drive_fake.failures.storage_quota_exceeded = True
    dump = tmp_path / "dump.sql.gz"
    dump.write_bytes(gzip.compress(b"-- PostgreSQL database dump\n-- PostgreSQL database dump complete\n"))

    imported = ImportService(context).import_file(dump, "alice")

    assert [location.kind for location in imported.locations] == [StorageKind.LOCAL]
    assert any(warning.startswith("storage drive failed") for warning in imported.warnings)
    [mail] = notifier.sent
    assert (mail.kind, mail.variant, mail.backup_id) == (
        NotificationKind.DRIVE_UPLOAD_DEGRADED,
        str(StorageKind.DRIVE),
        imported.id,
    )
    [entry] = [log for log in context.catalog.list_logs(imported.id) if log.action is AuditAction.IMPORT]
    assert entry.details["warnings"] == imported.warnings
