"""The end of a restore: what others wrote meanwhile (a protection, a warning) stays, a database whose lock
passed to another run is never put back over, a restore that worked is reported so, and a damaged copy of
a file is passed over for a sound one."""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path

import pytest

from shared.audit import Auditor
from shared.catalog.base import BackupFilter, BackupPage, Catalog
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import Clock, FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import CatalogUnavailableError, RestoreError, StorageError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus, StorageKind
from shared.pipeline import ProgressCallback
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.importer import ImportService
from shared.services.leftovers import discard_failed_uploads
from shared.services.locking import lock_name
from shared.services.records import RecordService
from shared.services.restore import RestoreService
from shared.storage.drive import DriveStorage
from shared.storage.local import LocalStorage
from shared.wiring import build_context
from tests.catalog.strategies import make_backup
from tests.databases import fresh_mysql_database, fresh_postgres_database
from tests.fakes.drive_fixtures import drive_fake as drive_fake
from tests.fakes.drive_fixtures import drive_folder as drive_folder
from tests.fakes.drive_fixtures import drive_sleeps as drive_sleeps
from tests.fakes.drive_fixtures import drive_storage as drive_storage
from tests.sample_data import (
    add_incompressible_rows,
    broken_dump,
    execute,
    fingerprint,
    load_sample,
    postgres_connect,
)

LEASE_SECONDS = 3
OTHERS_WARNING = "a warning another request wrote"


def _pre_restore_backup(context: ServiceContext) -> Backup:
    [pre] = context.catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    return pre


def _add_warning(catalog: Catalog, backup_id: str) -> None:
    """What another request does to a record: add a warning, writing nothing else."""
    stored = catalog.get_backup(backup_id)
    stored.warnings = [*stored.warnings, OTHERS_WARNING]
    catalog.update_backup(stored, only=("warnings",))


def _outcomes(context: ServiceContext, backup_id: str) -> list[object]:
    return [log.details.get("outcome") for log in context.catalog.list_logs(backup_id)]


def _once(action: Callable[[], None]) -> ProgressCallback:
    """A progress callback that runs `action` on its first call (the restore has read its first chunk)."""
    done = False

    def progress(raw: int, stored: int) -> None:
        nonlocal done
        if not done:
            done = True
            action()

    return progress


def _flip_a_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _local_file(context: ServiceContext, backup: Backup) -> Path:
    location = backup.location(StorageKind.LOCAL)
    assert location is not None
    return context.config.local_backup_dir / location.ref


# 1. A lost lock is never put back over, also when the PostgreSQL restorer wraps it.


def _incompressible_copy_dump(tmp_path: Path, megabytes: int) -> Path:
    """A PostgreSQL dump of one table with `megabytes` MB of random COPY data: loaded in parallel, and
    read in many chunks."""
    pad = os.urandom(megabytes << 19).hex()
    rows = "".join(f"{n}\t{pad[at : at + 100]}\n" for n, at in enumerate(range(0, len(pad), 100), 1))
    sql = (
        "-- PostgreSQL database dump\n"
        "CREATE TABLE public.bulk (id int PRIMARY KEY, pad text);\n"
        f"COPY public.bulk (id, pad) FROM stdin;\n{rows}\\.\n"
        "-- PostgreSQL database dump complete\n"
    )
    path = tmp_path / "bulk.sql.gz"
    path.write_bytes(gzip.compress(sql.encode(), compresslevel=1))
    return path


def _table_committed(url: DatabaseURL, table: str) -> bool:
    with postgres_connect(url) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",)).fetchone()
    return bool(row and row[0])


def _taken_over_once_committed(context: ServiceContext, url: DatabaseURL) -> ProgressCallback:
    """A progress callback that, once the restore has committed its new table for the parallel load, has
    another run take the database's lock (as if this run's lease had lapsed) and another request add a
    warning to the pre-restore backup, then waits for this run's heartbeat to find out."""
    taken = False

    def progress(raw: int, stored: int) -> None:
        nonlocal taken
        if taken or not _table_committed(url, "bulk"):
            return
        taken = True
        later = context.clock.now() + 3 * context.lock_ttl
        assert context.catalog.acquire_lock(lock_name(url), "another-run", later, context.lock_ttl)
        _add_warning(context.catalog, _pre_restore_backup(context).id)
        time.sleep(context.lock_ttl.total_seconds() * 0.7)

    return progress


def test_a_parallel_postgres_restore_whose_lock_passes_to_another_run_is_not_put_back(
    tmp_path: Path, clock: FixedClock
) -> None:
    dump = _incompressible_copy_dump(tmp_path, 48)  # the reader runs ~13 MiB ahead of the load
    with fresh_postgres_database("safelock") as url:
        load_sample(url)
        config = Config(
            database_url=url,
            home=tmp_path / "home",
            postgres_restore_connections=2,
            lock_ttl_seconds=LEASE_SECONDS,
        )
        context = build_context(config, clock)
        restores = RestoreService(context, BackupService(context))
        bulk = ImportService(context).import_file(dump, "alice")
        with pytest.raises(RestoreError) as info:
            restores.restore(bulk.id, "alice", progress=_taken_over_once_committed(context, url))
        message = str(info.value)
        assert "another run has taken it" in message and "database is incomplete" in message
        assert "could NOT be put back: it was not tried" in message, message
        assert "put back as it was" not in message
        assert _table_committed(url, "bulk"), "the restore's table is left: nothing was put back over it"
        pre = _pre_restore_backup(context)
        assert pre.is_protected and pre.restoring is None
        assert pre.warnings[0] == OTHERS_WARNING and pre.warnings[1].startswith("protected: putting it back")
        logs = context.catalog.list_logs(bulk.id)
        [failed] = [log for log in logs if log.details.get("outcome") == "failed"]
        assert failed.details["database_as_before"] is False


# 2. What others wrote on the pre-restore backup while the restore ran stays.


@pytest.mark.parametrize("restore_fails", [False, True], ids=["restore-works", "restore-put-back"])
def test_a_pre_restore_backup_protected_while_its_restore_runs_stays_protected(
    tmp_path: Path, clock: FixedClock, restore_fails: bool
) -> None:
    with fresh_mysql_database("safeprot") as url:
        load_sample(url)
        context = build_context(Config(database_url=url, home=tmp_path / "home"), clock)
        backups = BackupService(context)
        if restore_fails:
            backup = ImportService(context).import_file(broken_dump(url, tmp_path), "alice")
        else:
            add_incompressible_rows(url)
            backup = backups.create("alice")
        answers: list[Backup] = []

        def protect() -> None:
            pre = _pre_restore_backup(context)
            answers.append(RecordService(context).set_protected(pre.id, True, "bob"))
            _add_warning(context.catalog, pre.id)

        restore = RestoreService(context, backups).restore
        if restore_fails:
            with pytest.raises(RestoreError, match="put back as it was"):
                restore(backup.id, "alice", progress=_once(protect))
        else:
            restore(backup.id, "alice", progress=_once(protect))
        [answer] = answers
        assert answer.is_protected
        pre = context.catalog.get_backup(answer.id)
        assert pre.is_protected and pre.warnings == [OTHERS_WARNING] and pre.restoring is None


class _AddsAWarningOnceListed(SQLiteCatalog):
    """A catalog where another request adds a warning to the pre-restore backups just after a run has
    listed them (between the settling run's read and its write)."""

    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(path, clock)
        self.done = False

    def list_backups(
        self, filter: BackupFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> BackupPage:
        page = super().list_backups(filter, limit, cursor)
        if not self.done and filter is not None and filter.source is BackupSource.PRE_RESTORE:
            self.done = True
            for backup in page.backups:
                _add_warning(self, backup.id)
        return page


def _with_catalog(context: ServiceContext, catalog: SQLiteCatalog) -> ServiceContext:
    return replace(context, catalog=catalog, auditor=Auditor(catalog, context.clock))


def test_an_interrupted_restore_is_reported_without_dropping_what_others_wrote(
    tmp_path: Path, clock: FixedClock
) -> None:
    with fresh_mysql_database("safeint") as url:
        add_incompressible_rows(url)
        context = build_context(Config(database_url=url, home=tmp_path / "home"), clock)
        backups = BackupService(context)
        backup = backups.create("alice")

        def stop() -> None:
            raise SystemExit(143)

        with pytest.raises(SystemExit):
            RestoreService(context, backups).restore(backup.id, "alice", progress=_once(stop))
        settling = _with_catalog(context, _AddsAWarningOnceListed(context.config.catalog_path, clock))

        BackupService(settling).create("bob")

        pre = _pre_restore_backup(context)
        assert pre.restoring is None and pre.is_protected
        assert pre.warnings[0] == OTHERS_WARNING and pre.warnings[1].startswith("protected: the restore")
        assert "interrupted" in _outcomes(context, backup.id)


class _LeftoversRemovedSlowly(LocalStorage):
    """A storage that fails to remove an upload's leftovers, once `meanwhile` (another request, during
    the storage's retries) has happened."""

    def __init__(self, root: Path, meanwhile: Callable[[], None]) -> None:
        super().__init__(root)
        self.meanwhile = meanwhile

    def discard_leftovers(self, filename: str) -> None:
        self.meanwhile()
        raise StorageError("the storage is out of reach")


def test_what_an_upload_left_is_recorded_without_undoing_a_protection_made_meanwhile(
    tmp_path: Path, clock: FixedClock
) -> None:
    context = build_context(Config(database_url=None, home=tmp_path / "home"), clock)
    backup = make_backup("b-left", status=BackupStatus.COMPLETED, sha256="0" * 64)
    context.catalog.add_backup(backup)

    def meanwhile() -> None:
        RecordService(context).set_protected(backup.id, True, "bob")
        _add_warning(context.catalog, backup.id)

    slow = _LeftoversRemovedSlowly(tmp_path / "drive", meanwhile)
    discard_failed_uploads(context, backup, {StorageKind.DRIVE: slow})

    stored = context.catalog.get_backup(backup.id)
    assert stored.is_protected
    assert stored.warnings[0] == OTHERS_WARNING and "out of reach" in stored.warnings[1]
    assert "out of reach" in backup.warnings[-1]


# 3. A restore that worked is reported so, even when clearing its mark fails.


class _FailsToClearARestoreMarkOnce(SQLiteCatalog):
    """A catalog out of reach for the first write that clears a restore's mark."""

    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(path, clock)
        self.failed = False

    def update_backup(
        self, backup: Backup, *, only: Collection[str] = (), if_status: Collection[BackupStatus] = ()
    ) -> None:
        clearing = backup.source is BackupSource.PRE_RESTORE and backup.restoring is None
        if clearing and backup.status is BackupStatus.COMPLETED and not self.failed:
            self.failed = True
            raise CatalogUnavailableError("the catalog is out of reach")
        super().update_backup(backup, only=only, if_status=if_status)


def test_a_restore_that_worked_is_reported_so_when_clearing_its_mark_fails(
    tmp_path: Path, clock: FixedClock
) -> None:
    with fresh_mysql_database("safemark") as url:
        load_sample(url)
        built = build_context(Config(database_url=url, home=tmp_path / "home"), clock)
        context = _with_catalog(built, _FailsToClearARestoreMarkOnce(built.config.catalog_path, clock))
        backups = BackupService(context)
        backup = backups.create("alice")
        original = fingerprint(url)
        execute(url, ["DELETE FROM orders"])

        outcome = RestoreService(context, backups).restore(backup.id, "alice")

        assert fingerprint(url) == original
        assert "completed" in _outcomes(context, backup.id)
        assert context.catalog.get_backup(outcome.pre_restore_backup.id).restoring == backup.id
        backups.create("bob")  # the mark left behind is reported as an interrupted restore: the safe mistake
        pre = context.catalog.get_backup(outcome.pre_restore_backup.id)
        assert pre.restoring is None and pre.is_protected


# 4. A damaged copy is passed over for a sound one.


def _local_and_drive(home: Path, url: DatabaseURL, clock: FixedClock, drive: DriveStorage) -> ServiceContext:
    context = build_context(Config(database_url=url, home=home), clock)
    context.storages[StorageKind.DRIVE] = drive
    context.targets = (StorageKind.LOCAL, StorageKind.DRIVE)
    return context


def _damaged_copy_reports(context: ServiceContext, backup_id: str) -> list[dict[str, object]]:
    return [
        log.details
        for log in context.catalog.list_logs(backup_id)
        if log.action is AuditAction.RESTORE and log.details.get("outcome") == "damaged copy"
    ]


def test_a_restore_reads_the_drive_copy_when_the_local_one_is_damaged(
    tmp_path: Path, clock: FixedClock, drive_storage: DriveStorage
) -> None:
    with fresh_mysql_database("safecopy") as url:
        load_sample(url)
        context = _local_and_drive(tmp_path / "home", url, clock, drive_storage)
        backups = BackupService(context)
        backup = backups.create("alice")
        assert {location.kind for location in backup.locations} == {StorageKind.LOCAL, StorageKind.DRIVE}
        original = fingerprint(url)
        local = _local_file(context, backup)
        _flip_a_byte(local, local.stat().st_size // 2)
        execute(url, ["DELETE FROM orders"])

        RestoreService(context, backups).restore(backup.id, "alice")

        assert fingerprint(url) == original
        [report] = _damaged_copy_reports(context, backup.id)
        assert report["read_from"] == "drive"
        damaged = report["damaged"]
        assert isinstance(damaged, list) and len(damaged) == 1
        note = str(damaged[0])
        assert "the local copy" in note and "failed its checksum check" in note
        warnings = context.catalog.get_backup(backup.id).warnings
        assert any("the local copy" in warning for warning in warnings), warnings


def test_a_put_back_reads_the_drive_copy_when_the_local_one_is_damaged(
    tmp_path: Path, clock: FixedClock, drive_storage: DriveStorage
) -> None:
    with fresh_mysql_database("safeputback") as url:
        load_sample(url)
        context = _local_and_drive(tmp_path / "home", url, clock, drive_storage)
        backups = BackupService(context)
        broken = ImportService(context).import_file(broken_dump(url, tmp_path), "alice")
        before = fingerprint(url)

        def damage_the_pre_restore_backup() -> None:
            local = _local_file(context, _pre_restore_backup(context))
            _flip_a_byte(local, local.stat().st_size - 5)  # in gzip's trailer: every statement still reads

        with pytest.raises(RestoreError, match="put back as it was") as info:
            RestoreService(context, backups).restore(
                broken.id, "alice", progress=_once(damage_the_pre_restore_backup)
            )

        assert fingerprint(url) == before, str(info.value)
        pre = _pre_restore_backup(context)
        [report] = _damaged_copy_reports(context, pre.id)
        assert report["read_from"] == "drive"
        assert any("the local copy" in warning for warning in pre.warnings), pre.warnings
        assert not pre.is_protected
