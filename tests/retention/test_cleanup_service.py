"""`CleanupService` on the real SQLite catalog and real local folders: files, records, audit, failures."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.audit import Auditor
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import FixedClock
from shared.errors import BusyError, NotFoundError, StorageError
from shared.models import AuditAction, Backup, BackupSettings, BackupStatus, StorageKind, StorageLocation
from shared.services import cleanup
from shared.services.cleanup import CleanupService
from shared.storage.base import Storage
from shared.storage.local import LocalStorage
from tests.retention.sample_backups import sample_backup
from tests.retention.strategies import histories

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class DriveThatRefusesSomeDeletes(LocalStorage):
    """Our own `Storage` protocol standing in for Drive: files in a folder, and `delete` fails with a
    `StorageError` (like a Drive 403) for the refs in `refused`."""

    kind = StorageKind.DRIVE

    def __init__(self, root: Path, refused: set[str]) -> None:
        super().__init__(root)
        self.refused = refused

    def delete(self, ref: str) -> None:
        if ref in self.refused:
            raise StorageError(f"Drive answered 403 insufficientFilePermissions deleting {ref}")
        super().delete(ref)


@dataclass
class World:
    catalog: SQLiteCatalog
    storages: dict[StorageKind, Storage]
    clock: FixedClock

    def service(self, storages: Mapping[StorageKind, Storage] | None = None) -> CleanupService:
        return CleanupService(
            self.catalog,
            self.storages if storages is None else storages,
            Auditor(self.catalog, self.clock),
            self.clock,
        )

    def add(
        self,
        backup_id: str,
        age: timedelta,
        status: BackupStatus = BackupStatus.COMPLETED,
        *,
        kinds: tuple[StorageKind, ...] = (StorageKind.LOCAL,),
        is_protected: bool = False,
    ) -> Backup:
        """A catalog record with a real file in each storage of `kinds`."""
        locations = [StorageLocation(kind, self.store(kind, f"{backup_id}.sql.gz")) for kind in kinds]
        backup = sample_backup(
            backup_id, self.clock.now() - age, status, is_protected=is_protected, locations=locations
        )
        self.catalog.add_backup(backup)
        return backup

    def store(self, kind: StorageKind, filename: str) -> str:
        content = f"-- dump {filename}\n".encode()
        upload = self.storages[kind].begin(filename)
        upload.write(content)
        return upload.commit(hashlib.sha256(content).hexdigest(), len(content))

    def file_exists(self, location: StorageLocation) -> bool:
        return self.storages[location.kind].exists(location.ref)

    def record_exists(self, backup_id: str) -> bool:
        try:
            self.catalog.get_backup(backup_id)
        except NotFoundError:
            return False
        return True


def make_world(folder: Path, daily: int = 2, weekly: int = 0, monthly: int = 0) -> World:
    clock = FixedClock(NOW)
    catalog = SQLiteCatalog(folder / "catalog.db", clock)
    catalog.save_settings(
        BackupSettings(retention_daily=daily, retention_weekly=weekly, retention_monthly=monthly)
    )
    storages: dict[StorageKind, Storage] = {
        StorageKind.LOCAL: LocalStorage(folder / "local"),
        StorageKind.DRIVE: DriveThatRefusesSomeDeletes(folder / "drive", refused=set()),
    }
    return World(catalog, storages, clock)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def test_cleanup_deletes_the_files_and_records_no_rule_keeps(world: World) -> None:
    newest = world.add("newest", days(0.1), kinds=(StorageKind.LOCAL, StorageKind.DRIVE))
    yesterday = world.add("yesterday", days(1))
    old = world.add("old", days(5), kinds=(StorageKind.LOCAL, StorageKind.DRIVE))
    older = world.add("older", days(9))
    failed = world.add("failed", days(30), BackupStatus.FAILED)

    result = world.service().run(actor="ops@example.com", dry_run=False)

    assert result.to_dict() == {
        "keep": [{"id": "newest", "reasons": ["daily", "newest"]}, {"id": "yesterday", "reasons": ["daily"]}],
        "delete": [{"id": "old"}, {"id": "older"}],
        "deleted": 2,
        "failures": [],
    }
    for gone in (old, older):
        assert not world.record_exists(gone.id)
        assert not any(world.file_exists(loc) for loc in gone.locations)
    for kept in (newest, yesterday, failed):
        assert world.catalog.get_backup(kept.id) == kept
        assert all(world.file_exists(loc) for loc in kept.locations)

    entries = world.catalog.list_logs()
    assert sorted(e.backup_id or "" for e in entries) == ["old", "older"]
    assert {e.action for e in entries} == {AuditAction.CLEANUP}
    assert {e.actor for e in entries} == {"ops@example.com"}
    old_entry = world.catalog.list_logs(backup_id="old")[0]
    assert old_entry.details["result"] == "deleted"
    assert old_entry.details["locations"] == [
        {"kind": "local", "ref": "old.sql.gz"},
        {"kind": "drive", "ref": "old.sql.gz"},
    ]
    assert old_entry.details["policy"] == {"daily": 2, "weekly": 0, "monthly": 0}


def test_dry_run_returns_the_plan_and_changes_nothing(world: World) -> None:
    backups = [world.add(f"b{n}", days(n)) for n in range(5)]

    result = world.service().run(actor="ops@example.com", dry_run=True)

    assert result.dry_run
    assert result.to_dict() == {
        "keep": [{"id": "b0", "reasons": ["daily", "newest"]}, {"id": "b1", "reasons": ["daily"]}],
        "delete": [{"id": "b2"}, {"id": "b3"}, {"id": "b4"}],
        "deleted": 0,
        "failures": [],
    }
    for backup in backups:
        assert world.catalog.get_backup(backup.id) == backup
        assert world.file_exists(backup.locations[0])
    assert world.catalog.list_logs() == []


def test_a_drive_copy_that_fails_to_delete_keeps_its_record_and_the_rest_go_on(tmp_path: Path) -> None:
    world = make_world(tmp_path, daily=1)
    world.add("newest", days(0))
    stuck = world.add("stuck", days(2), kinds=(StorageKind.LOCAL, StorageKind.DRIVE))
    after = world.add("after", days(3), kinds=(StorageKind.LOCAL, StorageKind.DRIVE))
    drive = world.storages[StorageKind.DRIVE]
    assert isinstance(drive, DriveThatRefusesSomeDeletes)
    drive.refused.add("stuck.sql.gz")

    result = world.service().run(actor="scheduler", dry_run=False)

    assert result.deleted == ["after"]
    assert [f.backup_id for f in result.failures] == ["stuck"]
    assert "insufficientFilePermissions" in result.failures[0].error
    assert result.to_dict()["failures"] == [{"id": "stuck", "error": result.failures[0].error}]
    record = world.catalog.get_backup("stuck")
    assert record.locations == [StorageLocation(StorageKind.DRIVE, "stuck.sql.gz")]
    assert any("cleanup kept this record" in warning for warning in record.warnings)
    assert not world.file_exists(stuck.locations[0])  # the local copy did go
    assert world.file_exists(stuck.locations[1])
    assert not world.record_exists("after")
    assert not any(world.file_exists(loc) for loc in after.locations)
    failure_entry = world.catalog.list_logs(backup_id="stuck")[0]
    assert failure_entry.action == AuditAction.CLEANUP
    assert failure_entry.details["result"] == "failed"
    assert failure_entry.details["remaining_locations"] == [{"kind": "drive", "ref": "stuck.sql.gz"}]

    # Once Drive lets go, the next run finishes the job.
    drive.refused.clear()
    second = world.service().run(actor="scheduler", dry_run=False)
    assert second.deleted == ["stuck"]
    assert not world.record_exists("stuck")
    assert not world.file_exists(stuck.locations[1])


def test_a_local_file_that_cannot_be_deleted_keeps_its_record(world: World) -> None:
    world.add("newest", days(0))
    world.add("second", days(1))
    blocked = world.add("blocked", days(4))
    # Root ignores permissions, so block the delete with a non-empty folder where the file was.
    path = tmp_local_path(world, blocked.locations[0].ref)
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"x")

    result = world.service().run(actor="ops", dry_run=False)

    assert result.deleted == []
    assert [f.backup_id for f in result.failures] == ["blocked"]
    assert world.catalog.get_backup("blocked").locations == blocked.locations


def tmp_local_path(world: World, ref: str) -> Path:
    local = world.storages[StorageKind.LOCAL]
    assert isinstance(local, LocalStorage)
    return local.root / ref


def test_a_copy_in_a_storage_that_is_not_configured_is_a_failure_and_nothing_is_deleted(world: World) -> None:
    world.add("newest", days(0))
    world.add("second", days(1))
    on_drive = world.add("on-drive", days(3), kinds=(StorageKind.LOCAL, StorageKind.DRIVE))
    local_only = {StorageKind.LOCAL: world.storages[StorageKind.LOCAL]}

    result = world.service(storages=local_only).run(actor="ops", dry_run=False)

    assert result.deleted == []
    assert len(result.failures) == 1
    assert result.failures[0].backup_id == "on-drive"
    assert "storage drive not configured" in result.failures[0].error
    assert world.catalog.get_backup("on-drive") == on_drive
    assert all(world.file_exists(loc) for loc in on_drive.locations)


def test_cleanup_reads_every_page_of_the_catalog(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup, "PAGE_SIZE", 3)
    for n in range(8):
        world.add(f"b{n}", days(n))

    result = world.service().run(actor="ops", dry_run=False)

    assert sorted(result.deleted) == [f"b{n}" for n in range(2, 8)]
    assert [b.id for b in world.catalog.list_backups().backups] == ["b0", "b1"]


def test_retention_off_deletes_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path, daily=0, weekly=0, monthly=0)
    for n in range(4):
        world.add(f"b{n}", days(40 * n))

    result = world.service().run(actor="ops", dry_run=False)

    assert result.to_dict()["delete"] == []
    assert result.deleted == []
    assert len(world.catalog.list_backups().backups) == 4


class ProtectingOnRead(SQLiteCatalog):
    """A catalog where a user protects `target` between the plan and its deletion."""

    target = ""

    def get_backup(self, backup_id: str) -> Backup:
        backup = super().get_backup(backup_id)
        if backup_id == self.target and not backup.is_protected:
            backup.is_protected = True
            self.update_backup(backup)
        return backup


def test_a_backup_protected_after_the_plan_was_made_is_kept(tmp_path: Path) -> None:
    world = make_world(tmp_path, daily=1)
    catalog = ProtectingOnRead(tmp_path / "catalog.db", world.clock)
    catalog.target = "pinned-late"
    world.catalog = catalog
    world.add("newest", days(0))
    late = world.add("pinned-late", days(2))

    result = world.service().run(actor="ops", dry_run=False)

    assert result.to_dict()["delete"] == [{"id": "pinned-late"}]
    assert result.deleted == []
    assert [f.backup_id for f in result.failures] == ["pinned-late"]
    assert world.file_exists(late.locations[0])
    assert world.catalog.get_backup("pinned-late").is_protected


@given(histories(), st.integers(0, 3), st.integers(0, 2), st.integers(0, 2))
def test_property_14_protected_backup_exclusion_in_a_cleanup_run(
    history: list[Backup], daily: int, weekly: int, monthly: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        world = make_world(Path(folder), daily, weekly, monthly)
        latest = max((b.created_at for b in history), default=NOW)
        world.clock = FixedClock(latest)
        for backup in history:
            ref = world.store(StorageKind.LOCAL, backup.filename)
            backup.locations = [StorageLocation(StorageKind.LOCAL, ref)]
            world.catalog.add_backup(backup)

        result = world.service().run(actor="scheduler", dry_run=False)

        assert result.failures == []
        for backup in history:
            must_stay = backup.is_protected or backup.status != BackupStatus.COMPLETED
            if must_stay:
                assert world.record_exists(backup.id)
                assert world.file_exists(backup.locations[0])
            assert (backup.id in result.deleted) == (not world.record_exists(backup.id))


def test_a_second_cleanup_waits_its_turn_and_deletes_nothing(world: World) -> None:
    world.add("newest", days(0))
    world.add("second", days(1))
    old = world.add("old", days(3))
    assert world.catalog.acquire_lock(cleanup.LOCK_NAME, "other-run", NOW, timedelta(minutes=5))

    with pytest.raises(BusyError, match="another cleanup is running"):
        world.service().run(actor="ops", dry_run=False)
    assert world.catalog.get_backup("old") == old
    assert world.service().run(actor="ops", dry_run=True).to_dict()["delete"] == [{"id": "old"}]

    world.catalog.release_lock(cleanup.LOCK_NAME, "other-run")
    assert world.service().run(actor="ops", dry_run=False).deleted == ["old"]
    # The run released its lock: another owner can take it now.
    assert world.catalog.acquire_lock(cleanup.LOCK_NAME, "next-run", NOW, timedelta(minutes=5))
