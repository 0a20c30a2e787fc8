"""A user's delete that meets another writer: it writes back only what it changed, its change lock outlives
a slow Drive delete, it honours a protect that got in all the same, and it keeps the pre-restore backup of
a restore it finds interrupted. Real SQLite catalog, local storage, the Drive fake and MariaDB."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.catalog.base import BackupFilter
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import Clock, FixedClock
from shared.errors import BusyError, CatalogUnavailableError, StorageError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus, StorageKind
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.records import CHANGE_LOCK_TTL, RecordService, change_lock_name
from shared.services.restore import RestoreService
from shared.storage.drive import DriveStorage
from shared.storage.retry import RetryPolicy
from tests.databases import fresh_mysql_database
from tests.fakes.drive_fixtures import TEST_CHUNK_SIZE, TEST_SECRET_NAME, make_drive_service
from tests.fakes.drive_fixtures import drive_fake as drive_fake
from tests.fakes.drive_fixtures import drive_folder as drive_folder
from tests.fakes.drive_server import DriveFake
from tests.functions.conftest import RecordingNotifier
from tests.retention.worlds import CatalogChange, World, protect, start_restore, world_over
from tests.sample_data import add_incompressible_rows, load_sample
from tests.services.conftest import make_context

DRIVE_ATTEMPTS = 7
ATTEMPT = timedelta(seconds=150)
"""What one failed Drive attempt takes on the clock: its 120 s timeout, then the backoff."""
OTHER_WRITERS_WARNING = "written by another run while the delete worked"


class WatchedCatalog(SQLiteCatalog):
    """The real catalog; tells who took or refreshed which lock at what time, and can change a record
    just after a read of it has been answered (`after_read`), so the reader holds a stale copy."""

    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(path, clock)
        self.after_read: dict[str, CatalogChange] = {}
        self._taken: list[tuple[str, str, datetime]] = []
        self._changed = threading.Condition()

    def acquire_lock(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        taken = super().acquire_lock(name, owner, now, ttl)
        with self._changed:
            if taken:
                self._taken.append((name, owner, now))
            self._changed.notify_all()
        return taken

    def wait_for_a_refresh(self, name: str, at: datetime, timeout: float = 3.0) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: any(taken[0] == name and taken[2] == at for taken in self._taken), timeout
            )

    def get_backup(self, backup_id: str) -> Backup:
        backup = super().get_backup(backup_id)
        change = self.after_read.pop(backup_id, None)
        if change is not None:
            change(self)
        return backup


@dataclass
class SlowDrive:
    """The sleep of Drive's retries: each wait moves the clock by `ATTEMPT`, then `meanwhile` runs (what
    another request does while the delete is under way)."""

    clock: FixedClock
    meanwhile: Callable[[int], None]
    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(ATTEMPT)
        self.meanwhile(len(self.waits))


@pytest.fixture
def records_context(tmp_path: Path, clock: FixedClock) -> ServiceContext:
    context = make_context(tmp_path / "home", None, clock)
    context.catalog = WatchedCatalog(context.config.catalog_path, clock)
    return context


@pytest.fixture
def world(records_context: ServiceContext) -> World:
    return world_over(records_context, daily=1)


def watched(context: ServiceContext) -> WatchedCatalog:
    assert isinstance(context.catalog, WatchedCatalog)
    return context.catalog


def use_slow_drive(
    context: ServiceContext, fake: DriveFake, folder: str, meanwhile: Callable[[int], None]
) -> SlowDrive:
    """Drive, on the fake, as `context`'s Drive storage, each of whose retries takes `ATTEMPT`."""
    assert isinstance(context.clock, FixedClock)
    slow = SlowDrive(context.clock, meanwhile)
    retry = RetryPolicy(attempts=DRIVE_ATTEMPTS, sleep=slow)
    service = make_drive_service(fake)
    drive = DriveStorage(service, folder, TEST_CHUNK_SIZE, retry=retry, secret_name=TEST_SECRET_NAME)
    context.storages[StorageKind.DRIVE] = drive
    return slow


def nothing(wait: int) -> None:
    return None


def add_on_drive_then_local(world: World, backup_id: str) -> Backup:
    return world.add(backup_id, timedelta(days=1), kinds=(StorageKind.DRIVE, StorageKind.LOCAL))


def write_a_warning(catalog: SQLiteCatalog, backup_id: str) -> None:
    """Another run's write of a warning, as it is meant to write: only the attribute it changes."""
    backup = SQLiteCatalog.get_backup(catalog, backup_id)
    backup.warnings = [*backup.warnings, OTHER_WRITERS_WARNING]
    catalog.update_backup(backup, only=("warnings",))


def delete_outcomes(context: ServiceContext, backup_id: str) -> list[object]:
    logs = context.catalog.list_logs(backup_id)
    return [log.details.get("outcome") for log in logs if log.action is AuditAction.DELETE]


# Writing back only what the delete changed


def test_a_delete_that_fails_part_way_keeps_what_another_run_wrote_meanwhile(
    records_context: ServiceContext, world: World, drive_fake: DriveFake, drive_folder: str
) -> None:
    use_slow_drive(records_context, drive_fake, drive_folder, nothing)
    local, drive = world.add("b1", timedelta(days=1), kinds=(StorageKind.LOCAL, StorageKind.DRIVE)).locations
    drive_fake.failures.rate_limited_requests = DRIVE_ATTEMPTS  # every attempt: the delete fails
    watched(records_context).after_read["b1"] = lambda catalog: write_a_warning(catalog, "b1")

    with pytest.raises(StorageError, match="could not be deleted everywhere"):
        RecordService(records_context).delete("b1", "alice")

    stored = world.catalog.get_backup("b1")
    assert stored.locations == [drive] and world.file_exists(drive) and not world.file_exists(local)
    assert stored.warnings[0] == OTHER_WRITERS_WARNING, stored.warnings
    ours = "a delete by alice kept this record: could not delete drive"
    assert [warning.startswith(ours) for warning in stored.warnings] == [False, True]
    assert delete_outcomes(records_context, "b1") == ["failed"]


def test_a_protect_by_a_writer_without_the_change_lock_during_a_failing_delete_is_kept(
    records_context: ServiceContext, world: World, drive_fake: DriveFake, drive_folder: str
) -> None:
    """As a restore that fails, or the settling of an interrupted one, protects a pre-restore backup."""

    def protected_meanwhile(wait: int) -> None:
        if wait == 1:
            protect("b1")(world.catalog)

    use_slow_drive(records_context, drive_fake, drive_folder, protected_meanwhile)
    local, drive = world.add("b1", timedelta(days=1), kinds=(StorageKind.LOCAL, StorageKind.DRIVE)).locations
    drive_fake.failures.rate_limited_requests = DRIVE_ATTEMPTS

    with pytest.raises(BusyError, match=r"another request protected it meanwhile.*could not delete drive"):
        RecordService(records_context).delete("b1", "alice")

    stored = world.catalog.get_backup("b1")
    assert stored.is_protected, "the delete wrote back its stale copy of the record"
    assert stored.locations == [drive] and world.file_exists(drive) and not world.file_exists(local)
    assert delete_outcomes(records_context, "b1") == ["stopped"]


def test_a_protect_writes_only_is_protected(records_context: ServiceContext, world: World) -> None:
    """A backup run that completes between the protect's read and its write keeps what it wrote."""
    world.add("b1", timedelta(0), BackupStatus.RUNNING)

    def completed(catalog: SQLiteCatalog) -> None:
        backup = SQLiteCatalog.get_backup(catalog, "b1")
        backup.status, backup.warnings = BackupStatus.COMPLETED, ["done while protected"]
        catalog.update_backup(backup)

    watched(records_context).after_read["b1"] = completed

    assert RecordService(records_context).set_protected("b1", True, "bob").is_protected

    stored = world.catalog.get_backup("b1")
    assert stored.is_protected and stored.status is BackupStatus.COMPLETED
    assert stored.warnings == ["done while protected"]


# A delete that outlasts the change lock's TTL


def test_the_change_lock_is_kept_while_a_slow_drive_delete_retries(
    records_context: ServiceContext, world: World, drive_fake: DriveFake, drive_folder: str
) -> None:
    """Each Drive attempt takes longer than the lock's TTL; the heartbeat refreshes it all the same, so a
    protect coming meanwhile is refused instead of reported done for a backup that is then gone."""
    ttl = timedelta(seconds=0.6)  # the heartbeat refreshes every 0.2 s; the clock moves 150 s an attempt
    service = RecordService(records_context, change_lock_ttl=ttl)
    catalog = watched(records_context)
    refusals: list[str] = []

    def other_user_protects(wait: int) -> None:
        catalog.wait_for_a_refresh(change_lock_name("b1"), world.clock.now())
        with pytest.raises(BusyError) as refused:
            service.set_protected("b1", True, "bob")
        refusals.append(str(refused.value))

    use_slow_drive(records_context, drive_fake, drive_folder, other_user_protects)
    backup = add_on_drive_then_local(world, "b1")
    drive_fake.failures.rate_limited_requests = DRIVE_ATTEMPTS - 1  # the last attempt deletes it

    service.delete("b1", "alice")

    assert len(refusals) == DRIVE_ATTEMPTS - 1
    assert all("being deleted or protected by another request" in refusal for refusal in refusals)
    assert not world.record_exists("b1")
    assert not any(world.file_exists(location) for location in backup.locations)


def test_a_protect_that_got_the_lapsed_change_lock_is_honoured(
    records_context: ServiceContext, world: World, drive_fake: DriveFake, drive_folder: str
) -> None:
    """Should the heartbeat not keep the lock (here it is not due in the test's time; in production, a
    catalog out of reach), a protect after the TTL takes it and is answered True: the delete then stops
    before the next copy, and the record, protected, keeps it."""
    service = RecordService(records_context)
    protected: list[bool] = []

    def other_user_protects(wait: int) -> None:
        if ATTEMPT * wait > CHANGE_LOCK_TTL and not protected:  # the first wait after the TTL
            protected.append(service.set_protected("b1", True, "bob").is_protected)

    use_slow_drive(records_context, drive_fake, drive_folder, other_user_protects)
    drive, local = add_on_drive_then_local(world, "b1").locations
    drive_fake.failures.rate_limited_requests = DRIVE_ATTEMPTS - 1

    with pytest.raises(BusyError, match="another request protected it meanwhile; its copies in drive were"):
        service.delete("b1", "alice")

    assert protected == [True]
    stored = world.catalog.get_backup("b1")
    assert stored.is_protected and stored.locations == [local] and world.file_exists(local)
    assert not world.file_exists(drive)
    ours = "a delete by alice stopped: another request protected it meanwhile; its copies in drive were"
    assert any(warning.startswith(ours) for warning in stored.warnings), stored.warnings
    assert delete_outcomes(records_context, "b1") == ["stopped"]


def test_a_delete_whose_change_lock_passed_to_another_request_stops(
    records_context: ServiceContext, world: World, drive_fake: DriveFake, drive_folder: str
) -> None:
    service = RecordService(records_context)

    def another_request_takes_the_lock(wait: int) -> None:
        if wait == DRIVE_ATTEMPTS - 1:  # 15 minutes on: the lock has lapsed
            assert world.catalog.acquire_lock(
                change_lock_name("b1"), "protect-elsewhere", world.clock.now(), CHANGE_LOCK_TTL
            )

    use_slow_drive(records_context, drive_fake, drive_folder, another_request_takes_the_lock)
    drive, local = add_on_drive_then_local(world, "b1").locations
    drive_fake.failures.rate_limited_requests = DRIVE_ATTEMPTS - 1

    with pytest.raises(BusyError, match=r"its change lock was lost \(another request has taken it\)"):
        service.delete("b1", "alice")

    stored = world.catalog.get_backup("b1")
    assert stored.locations == [local] and world.file_exists(local) and not world.file_exists(drive)
    world.catalog.release_lock(change_lock_name("b1"), "protect-elsewhere")
    service.delete("b1", "alice")
    assert not world.record_exists("b1") and not world.file_exists(local)


# The pre-restore backup of a restore that was interrupted


def _on_the_second_read(error: BaseException) -> Callable[[int, int], None]:
    """A progress callback that raises `error` as the restore reads its second chunk: a MySQL restore
    has dropped and loaded part of the database by then."""
    reads = 0

    def progress(raw: int, stored: int) -> None:
        nonlocal reads
        reads += 1
        if reads == 2:
            raise error

    return progress


def test_deleting_the_pre_restore_backup_of_a_restore_that_died_mid_load_is_refused(
    tmp_path: Path, clock: FixedClock
) -> None:
    with fresh_mysql_database("svc") as url:
        load_sample(url)
        add_incompressible_rows(url)
        context = make_context(tmp_path / "home", url, clock)
        notifier = RecordingNotifier()
        context.notifier = notifier
        backups = BackupService(context)
        backup = backups.create("alice")
        with pytest.raises(SystemExit):
            dies = _on_the_second_read(SystemExit(143))
            RestoreService(context, backups).restore(backup.id, "alice", progress=dies)
        [pre] = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
        assert pre.restoring == backup.id and not pre.is_protected
        records = RecordService(context)

        with pytest.raises(BusyError, match=f"backup {pre.id} was not deleted: it is the pre-restore backup"):
            records.delete(pre.id, "ops")

        stored = context.catalog.get_backup(pre.id)
        assert stored.is_protected and stored.restoring is None and stored.locations == pre.locations
        assert all(context.storage(loc.kind).exists(loc.ref) for loc in pre.locations)
        assert [mail.backup_id for mail in notifier.sent] == [backup.id]  # "restore PRE if incomplete"
        assert delete_outcomes(context, pre.id) == ["refused"]

        records.set_protected(pre.id, False, "ops")
        records.delete(pre.id, "ops")
        assert sorted(map(str, delete_outcomes(context, pre.id))) == ["deleted", "refused"]


def test_the_pre_restore_backup_of_a_restore_that_died_while_taking_it_can_be_deleted(
    records_context: ServiceContext, world: World
) -> None:
    """That restore had not changed the database yet, so nothing needs the pre-restore backup."""
    world.add("pre", timedelta(0), BackupStatus.RUNNING)
    start_restore("pre", "restored")(world.catalog)
    pre = world.catalog.get_backup("pre")
    pre.run_lock = "db-restored-database"  # no run holds it: the restore died
    world.catalog.update_backup(pre)

    RecordService(records_context).delete("pre", "ops")

    assert not world.record_exists("pre")


class _RecordsThatCannotBeDeleted(SQLiteCatalog):
    def delete_backup(self, backup_id: str) -> None:
        raise CatalogUnavailableError("the catalog (Firestore) did not answer within 10 s")


def test_a_delete_whose_record_cannot_be_removed_leaves_it_naming_no_gone_copy(
    tmp_path: Path, clock: FixedClock
) -> None:
    context = make_context(tmp_path / "home", None, clock)
    world = world_over(context, daily=1)
    backup = world.add("old", timedelta(days=3))
    context.catalog = _RecordsThatCannotBeDeleted(context.config.catalog_path, clock)

    with pytest.raises(CatalogUnavailableError):
        RecordService(context).delete(backup.id, "alice")

    stored = context.catalog.get_backup(backup.id)
    assert stored.locations == [] and any("a delete by alice failed" in w for w in stored.warnings)
    assert delete_outcomes(context, backup.id) == ["failed"]
