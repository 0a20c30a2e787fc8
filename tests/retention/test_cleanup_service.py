"""`CleanupService` on the real SQLite catalog and real local folders: files, records, audit, failures."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import FixedClock
from shared.errors import BusyError, NotFoundError
from shared.models import AuditAction, Backup, BackupStatus, DatabaseInfo, StorageKind, StorageLocation
from shared.services import cleanup
from shared.services.records import RecordService
from shared.storage.local import LocalStorage
from tests.retention.strategies import histories
from tests.retention.worlds import (
    NOW,
    DriveThatRefusesSomeDeletes,
    World,
    change_on_read,
    hook_local_deletes,
    make_world,
    protect,
    start_restore,
    world_over,
)
from tests.services.conftest import make_context


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


def test_a_backup_protected_after_the_plan_was_made_is_kept_and_no_failure(tmp_path: Path) -> None:
    world = make_world(tmp_path, daily=1)
    world.add("newest", days(0))
    late = world.add("pinned-late", days(2))
    change_on_read(world, tmp_path, {"pinned-late": protect("pinned-late")})

    result = world.service().run(actor="ops", dry_run=False)

    assert result.to_dict()["delete"] == [{"id": "pinned-late"}]
    assert (result.deleted, result.failures) == ([], [])  # no failure: the scheduled run answers 200
    assert world.file_exists(late.locations[0])
    assert world.catalog.get_backup("pinned-late").is_protected
    assert world.catalog.list_logs() == []  # nothing changed, so nothing to audit


def test_cleanup_keeps_both_backups_of_a_running_restore_until_it_ends(tmp_path: Path) -> None:
    world = make_world(tmp_path, daily=1)
    world.add("newest", days(0))  # e.g. an import that finished while the restore ran
    pre = world.add("pre", days(0.5))
    restored = world.add("restored", days(3))
    start_restore("pre", "restored")(world.catalog)

    running = world.service().run(actor="scheduler", dry_run=False)

    assert running.to_dict()["keep"] == [
        {"id": "newest", "reasons": ["daily", "newest"]},
        {"id": "pre", "reasons": ["restoring"]},
        {"id": "restored", "reasons": ["restoring"]},
    ]
    assert (running.deleted, running.failures) == ([], [])
    assert world.file_exists(pre.locations[0]) and world.file_exists(restored.locations[0])

    ended = world.catalog.get_backup("pre")
    ended.restoring = None
    world.catalog.update_backup(ended)
    assert world.service().run(actor="scheduler", dry_run=False).deleted == ["pre", "restored"]


def test_a_restore_that_starts_after_the_plan_keeps_both_its_backups(tmp_path: Path) -> None:
    world = make_world(tmp_path, daily=1)
    world.add("newest", days(0))
    pre = world.add("pre", days(0.5))
    restored = world.add("restored", days(3))
    change_on_read(world, tmp_path, {"pre": start_restore("pre", "restored")})

    result = world.service().run(actor="scheduler", dry_run=False)

    assert result.to_dict()["delete"] == [{"id": "pre"}, {"id": "restored"}]
    assert (result.deleted, result.failures) == ([], [])
    assert world.file_exists(pre.locations[0]) and world.file_exists(restored.locations[0])


def test_cleanup_never_deletes_the_last_completed_backup_of_a_database(tmp_path: Path) -> None:
    world = make_world(tmp_path, daily=1)
    crm = DatabaseInfo(engine="postgresql", name="crm", host="db.internal")
    world.add("newest", days(0))
    old = [world.add("old-1", days(2)), world.add("old-2", days(3))]
    world.add("crm-newest", days(0.5), database=crm)
    world.add("crm-old", days(4), database=crm)

    def user_deletes_newest(catalog: SQLiteCatalog) -> None:
        catalog.delete_backup("newest")

    change_on_read(world, tmp_path, {"old-1": user_deletes_newest})

    result = world.service().run(actor="scheduler", dry_run=False)

    assert [b["id"] for b in result.to_dict()["delete"]] == ["old-1", "old-2", "crm-old"]
    assert (result.deleted, result.failures) == (["crm-old"], [])  # the other database goes on as planned
    for backup in old:
        assert world.catalog.get_backup(backup.id) == backup
        assert world.file_exists(backup.locations[0])


def test_a_protect_while_cleanup_deletes_the_copies_is_refused(tmp_path: Path) -> None:
    context = make_context(tmp_path / "home", None, FixedClock(NOW))
    world = world_over(context, daily=1)
    world.add("newest", days(0))
    world.add("old", days(3))
    refusals: list[BusyError] = []

    def user_protects(ref: str) -> None:
        with pytest.raises(BusyError, match="being deleted or protected") as refused:
            RecordService(context).set_protected("old", True, "alice")
        refusals.append(refused.value)

    hook_local_deletes(context, user_protects)

    result = world.service().run(actor="scheduler", dry_run=False)

    assert (result.deleted, result.failures, len(refusals)) == (["old"], [], 1)
    assert not world.record_exists("old")
    with pytest.raises(NotFoundError):
        RecordService(context).set_protected("old", True, "alice")


def test_a_protect_that_bypasses_the_change_lock_mid_delete_keeps_the_record_and_fails_loudly(
    tmp_path: Path,
) -> None:
    context = make_context(tmp_path / "home", None, FixedClock(NOW))
    world = world_over(context, daily=1)
    world.add("newest", days(0))
    old = world.add("old", days(3))
    hook_local_deletes(context, lambda ref: protect("old")(world.catalog))

    result = world.service().run(actor="scheduler", dry_run=False)

    assert result.deleted == []
    [failure] = result.failures
    assert failure.backup_id == "old" and "the data of this backup is gone" in failure.error
    record = world.catalog.get_backup("old")
    assert record.is_protected and record.locations == []
    assert any("the data of this backup is gone" in warning for warning in record.warnings)
    assert not world.file_exists(old.locations[0])
    [entry] = world.catalog.list_logs(backup_id="old")
    assert entry.details["result"] == "failed"
    assert entry.details["deleted_locations"] == [{"kind": "local", "ref": "old.sql.gz"}]


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


def test_a_cleanup_whose_lock_passed_to_another_stops_before_its_next_deletion(
    world: World, tmp_path: Path
) -> None:
    world.add("newest", days(0))
    for n in (3, 4, 5):
        world.add(f"old{n}", days(n))
    stolen: list[str] = []

    def another_cleanup_takes_the_lapsed_lock(catalog: SQLiteCatalog) -> None:
        if not stolen:
            later = NOW + cleanup.LOCK_TTL + timedelta(seconds=1)
            assert catalog.acquire_lock(cleanup.LOCK_NAME, "other-cleanup", later, cleanup.LOCK_TTL)
            stolen.append("other-cleanup")

    change_on_read(world, tmp_path, {f"old{n}": another_cleanup_takes_the_lapsed_lock for n in (3, 4, 5)})
    result = world.service().run(actor="scheduler", dry_run=False)

    assert stolen and len(result.deleted) == 1
    [failure] = result.failures
    assert "this cleanup stopped: its lock was lost (another cleanup has taken it)" in failure.error
    assert sum(world.record_exists(f"old{n}") for n in (3, 4, 5)) == 2
    taken_by_a_third = world.catalog.acquire_lock(cleanup.LOCK_NAME, "third", NOW, cleanup.LOCK_TTL)
    assert not taken_by_a_third, "the stopped cleanup released the other cleanup's lock"
