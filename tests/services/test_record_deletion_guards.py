"""What a user's delete refuses, with a conflict (`BusyError`, HTTP 409) rather than a failure: a backup
still running, one a running restore needs (its pre-restore backup, or the backup it restores), one
another request is changing; and a protect that comes while a backup is being deleted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.errors import BusyError
from shared.models import BackupStatus
from shared.services.context import ServiceContext
from shared.services.records import RecordService, change_lock_name
from tests.retention.worlds import World, hook_local_deletes, start_restore, world_over
from tests.services.conftest import make_context

RESTORE_LOCK = "db-restored-database"


@pytest.fixture
def records_context(tmp_path: Path, clock: FixedClock) -> ServiceContext:
    return make_context(tmp_path / "home", None, clock)


@pytest.fixture
def world(records_context: ServiceContext) -> World:
    return world_over(records_context, daily=1)


def restore_running(world: World, pre_id: str, restored_id: str, alive: bool) -> None:
    """Mark `pre_id` as the pre-restore backup of a restore of `restored_id`, whose run holds the
    database's lock when `alive`."""
    start_restore(pre_id, restored_id)(world.catalog)
    pre = world.catalog.get_backup(pre_id)
    pre.run_lock = RESTORE_LOCK
    world.catalog.update_backup(pre)
    if alive:
        assert world.catalog.acquire_lock(
            RESTORE_LOCK, "the-live-restore", world.clock.now(), timedelta(hours=1)
        )


def test_a_running_backup_is_a_conflict(records_context: ServiceContext, world: World) -> None:
    running = world.add("running", timedelta(0), BackupStatus.RUNNING)
    running.run_lock = RESTORE_LOCK
    world.catalog.update_backup(running)
    assert world.catalog.acquire_lock(RESTORE_LOCK, "the-live-run", world.clock.now(), timedelta(hours=1))

    with pytest.raises(BusyError, match="still running"):
        RecordService(records_context).delete("running", "ops")
    assert world.catalog.get_backup("running") == running


@pytest.mark.parametrize(
    ("deleting", "message"),
    [
        ("pre", "is the pre-restore backup of the restore of backup restored, which is still running"),
        ("restored", r"is being restored \(pre-restore backup pre\)"),
    ],
)
def test_a_backup_a_running_restore_needs_is_a_conflict(
    records_context: ServiceContext, world: World, deleting: str, message: str
) -> None:
    kept = [world.add("pre", timedelta(hours=1)), world.add("restored", timedelta(days=3))]
    restore_running(world, "pre", "restored", alive=True)

    with pytest.raises(BusyError, match=message):
        RecordService(records_context).delete(deleting, "ops")
    for backup in kept:
        assert world.record_exists(backup.id) and world.file_exists(backup.locations[0])


def test_the_backup_of_a_restore_that_died_can_be_deleted(
    records_context: ServiceContext, world: World
) -> None:
    world.add("pre", timedelta(hours=1))
    restored = world.add("restored", timedelta(days=3))
    restore_running(world, "pre", "restored", alive=False)

    RecordService(records_context).delete("restored", "ops")

    assert not world.record_exists("restored") and not world.file_exists(restored.locations[0])
    pre = world.catalog.get_backup("pre")
    assert pre.restoring is None and pre.is_protected  # the dead restore was reported first


def test_a_backup_another_request_is_changing_is_a_conflict(
    records_context: ServiceContext, world: World
) -> None:
    backup = world.add("busy", timedelta(days=1))
    assert world.catalog.acquire_lock(
        change_lock_name("busy"), "cleanup-x", world.clock.now(), timedelta(minutes=5)
    )

    service = RecordService(records_context)
    with pytest.raises(BusyError, match="being deleted or protected by another request"):
        service.delete("busy", "ops")
    with pytest.raises(BusyError, match="being deleted or protected by another request"):
        service.set_protected("busy", True, "ops")
    assert world.catalog.get_backup("busy") == backup

    world.catalog.release_lock(change_lock_name("busy"), "cleanup-x")
    assert service.set_protected("busy", True, "ops").is_protected
    service.delete("busy", "ops")
    assert not world.record_exists("busy")


def test_a_protect_while_a_user_deletes_the_copies_is_refused(
    records_context: ServiceContext, world: World
) -> None:
    world.add("going", timedelta(days=1))
    service = RecordService(records_context)
    refusals: list[str] = []

    def other_user_protects(ref: str) -> None:
        with pytest.raises(BusyError) as refused:
            service.set_protected("going", True, "bob")
        refusals.append(str(refused.value))

    hook_local_deletes(records_context, other_user_protects)

    service.delete("going", "alice")

    assert not world.record_exists("going") and len(refusals) == 1
