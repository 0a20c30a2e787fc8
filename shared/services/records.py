"""Looking at and managing backup records: list, show, delete (every copy), protect, unprotect.

Deleting a backup and protecting or unprotecting it each hold the backup's change lock
(`backup_change_lock`), as cleanup does while it deletes one: a protect that comes while the backup is
being deleted is refused (`BusyError`) instead of reporting success for a backup that is then gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from shared.catalog.base import BackupFilter, BackupPage, Catalog
from shared.clock import Clock
from shared.errors import BusyError, StorageError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus
from shared.services.context import ServiceContext
from shared.services.interrupted import RECENT_PRE_RESTORE_BACKUPS, settle_if_abandoned

CHANGE_LOCK_TTL = timedelta(minutes=10)
"""Longer than deleting one backup's copies takes, short enough that a crashed delete soon frees it."""


def change_lock_name(backup_id: str) -> str:
    return f"backup-change-{backup_id}"


@contextmanager
def backup_change_lock(catalog: Catalog, clock: Clock, backup_id: str, purpose: str) -> Iterator[bool]:
    """Hold the backup's change lock for the block; yields False (holding nothing) while another holds it."""
    name, owner = change_lock_name(backup_id), f"{purpose}-{uuid.uuid4().hex[:12]}"
    taken = catalog.acquire_lock(name, owner, clock.now(), CHANGE_LOCK_TTL)
    try:
        yield taken
    finally:
        if taken:
            catalog.release_lock(name, owner)


def restore_using(catalog: Catalog, backup: Backup) -> Backup | None:
    """The pre-restore backup of a running restore that needs `backup`: `backup` itself when it is that
    pre-restore backup, or the one that names it as the backup being restored; None when no restore runs
    with it. A running restore's pre-restore backup is the newest of its database, so a few suffice."""
    if backup.restoring is not None:
        return backup
    pre_restore = BackupFilter(source=BackupSource.PRE_RESTORE)
    recent = catalog.list_backups(pre_restore, limit=RECENT_PRE_RESTORE_BACKUPS)
    return next((pre for pre in recent.backups if pre.restoring == backup.id), None)


def _busy_changing(backup_id: str) -> BusyError:
    return BusyError(
        f"backup {backup_id} is being deleted or protected by another request; try again in a moment "
        f"(a lock left by a crashed request expires after {int(CHANGE_LOCK_TTL.total_seconds())} s)"
    )


def _busy_restoring(backup: Backup, pre: Backup) -> BusyError:
    if pre is backup:
        return BusyError(
            f"backup {backup.id} is the pre-restore backup of the restore of backup {backup.restoring}, "
            "which is still running; delete it when that restore has finished"
        )
    return BusyError(
        f"backup {backup.id} is being restored (pre-restore backup {pre.id}); delete it when the restore "
        "has finished"
    )


class RecordService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def list(
        self, filter: BackupFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> BackupPage:
        return self._ctx.catalog.list_backups(filter, limit, cursor)

    def show(self, backup_id: str) -> Backup:
        return self._ctx.catalog.get_backup(backup_id)

    def delete(self, backup_id: str, actor: str) -> Backup:
        """Delete every stored copy, then the record. A copy that is already gone is fine; a copy that
        cannot be deleted keeps the record (minus the copies that are gone) and raises `StorageError`.
        Raises `BusyError` while the backup is running, in use by a running restore, or being changed."""
        ctx = self._ctx
        with backup_change_lock(ctx.catalog, ctx.clock, backup_id, "delete") as held:
            if not held:
                raise _busy_changing(backup_id)
            backup = self._deletable(backup_id, actor)
            return self._delete_copies_then_record(backup, actor)

    def _deletable(self, backup_id: str, actor: str) -> Backup:
        """The record, once no live run writes it and no running restore uses it; else `BusyError`."""
        ctx = self._ctx
        backup = ctx.catalog.get_backup(backup_id)
        lock = backup.run_lock if backup.status is BackupStatus.RUNNING else None
        if lock is not None and settle_if_abandoned(ctx, lock, actor):
            backup = ctx.catalog.get_backup(backup_id)  # its run had died: failed now
        if backup.status is BackupStatus.RUNNING:
            raise BusyError(f"backup {backup.id} is still running; delete it when it has finished")
        pre = restore_using(ctx.catalog, backup)
        if pre is not None and pre.run_lock is not None and settle_if_abandoned(ctx, pre.run_lock, actor):
            backup = ctx.catalog.get_backup(backup_id)  # the restore had died: reported, its mark gone
            pre = restore_using(ctx.catalog, backup)
        if pre is not None:
            raise _busy_restoring(backup, pre)
        return backup

    def _delete_copies_then_record(self, backup: Backup, actor: str) -> Backup:
        ctx = self._ctx
        removed: list[str] = []
        errors: list[str] = []
        for location in list(backup.locations):
            try:
                ctx.storage(location.kind).delete(location.ref)
                removed.append(str(location.kind))
                backup.locations.remove(location)
            except Exception as exc:
                errors.append(f"{location.kind}: {exc}")
        if errors:
            ctx.catalog.update_backup(backup)
            ctx.auditor.record(
                actor,
                AuditAction.DELETE,
                backup.id,
                {"outcome": "failed", "removed": removed, "errors": errors},
                severity="ERROR",
            )
            raise StorageError(f"backup {backup.id} could not be deleted everywhere: " + "; ".join(errors))
        ctx.catalog.delete_backup(backup.id)
        ctx.auditor.record(actor, AuditAction.DELETE, backup.id, {"outcome": "deleted", "removed": removed})
        return backup

    def set_protected(self, backup_id: str, protected: bool, actor: str) -> Backup:
        """Raises `BusyError` while the backup is being deleted (it may be gone once that has finished)."""
        ctx = self._ctx
        with backup_change_lock(ctx.catalog, ctx.clock, backup_id, "protect") as held:
            if not held:
                raise _busy_changing(backup_id)
            backup = ctx.catalog.get_backup(backup_id)
            backup.is_protected = protected
            ctx.catalog.update_backup(backup)
        ctx.auditor.record(actor, AuditAction.PROTECT if protected else AuditAction.UNPROTECT, backup.id)
        return backup
