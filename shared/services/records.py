"""Looking at and managing backup records: list, show, delete (every copy), protect, unprotect."""

from __future__ import annotations

from shared.catalog.base import BackupFilter, BackupPage
from shared.errors import StorageError
from shared.models import AuditAction, Backup, BackupStatus
from shared.services.context import ServiceContext
from shared.services.interrupted import settle_if_abandoned


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
        cannot be deleted keeps the record (minus the copies that are gone) and raises `StorageError`."""
        ctx = self._ctx
        backup = ctx.catalog.get_backup(backup_id)
        lock = backup.run_lock if backup.status is BackupStatus.RUNNING else None
        if lock is not None and settle_if_abandoned(ctx, lock, actor):
            backup = ctx.catalog.get_backup(backup_id)  # its run had died: failed now
        if backup.status is BackupStatus.RUNNING:
            raise StorageError(f"backup {backup.id} is still running; delete it when it has finished")
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
        ctx = self._ctx
        backup = ctx.catalog.get_backup(backup_id)
        backup.is_protected = protected
        ctx.catalog.update_backup(backup)
        ctx.auditor.record(actor, AuditAction.PROTECT if protected else AuditAction.UNPROTECT, backup.id)
        return backup
