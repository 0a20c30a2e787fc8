"""Looking at and managing backup records: list, show, delete (every copy), protect, unprotect.

Deleting a backup and protecting or unprotecting it each hold the backup's change lock
(`backup_change_lock`), as cleanup does while it deletes one: a protect that comes while the backup is
being deleted is refused (`BusyError`) instead of reporting success for a backup that is then gone. The
lock is a `Lease`, kept fresh by a heartbeat for as long as the delete works (one Drive delete may retry
for many minutes). Should it lapse all the same, the delete finds out: before each copy and before the
record it renews the lock and reads the record again, and stops (`BusyError`) when the lock passed to
another request, or the backup was protected or taken up by a restore meanwhile. A delete that stops or
fails part-way writes only the locations that are left and a warning, never its stale copy of the rest.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import NoReturn

from shared.catalog.base import BackupFilter, BackupPage, Catalog
from shared.clock import Clock
from shared.errors import BusyError, NotFoundError, RecordChangedError, StorageError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus, StorageLocation
from shared.services.context import ServiceContext
from shared.services.interrupted import RECENT_PRE_RESTORE_BACKUPS, settle_if_abandoned
from shared.services.locking import Lease
from shared.services.refusals import audit_refusal, describe_error, refusals_audited

_log = logging.getLogger("backup.records")

CHANGE_LOCK_TTL = timedelta(minutes=10)
"""How soon a crashed holder's change lock frees itself; a live holder's heartbeat keeps it."""


def change_lock_name(backup_id: str) -> str:
    return f"backup-change-{backup_id}"


@contextmanager
def backup_change_lock(
    catalog: Catalog, clock: Clock, backup_id: str, purpose: str, ttl: timedelta = CHANGE_LOCK_TTL
) -> Iterator[Lease | None]:
    """Hold the backup's change lock for the block, refreshed while it runs; yields None (holding
    nothing) while another holds it."""
    owner = f"{purpose}-{uuid.uuid4().hex[:12]}"
    lease = Lease(catalog, clock, change_lock_name(backup_id), owner, ttl, f"backup {backup_id}", "request")
    if not lease.take():
        yield None
        return
    try:
        yield lease
    finally:
        lease.release()


def restore_using(catalog: Catalog, backup: Backup) -> Backup | None:
    """The pre-restore backup of a running restore that needs `backup`: `backup` itself when it is that
    pre-restore backup, or the one that names it as the backup being restored; None when no restore runs
    with it. A running restore's pre-restore backup is the newest of its database, so a few suffice."""
    if backup.restoring is not None:
        return backup
    pre_restore = BackupFilter(source=BackupSource.PRE_RESTORE)
    recent = catalog.list_backups(pre_restore, limit=RECENT_PRE_RESTORE_BACKUPS)
    return next((pre for pre in recent.backups if pre.restoring == backup.id), None)


def _busy_changing(backup_id: str, ttl: timedelta) -> BusyError:
    return BusyError(
        f"backup {backup_id} is being deleted or protected by another request; try again in a moment "
        f"(a lock left by a crashed request expires after {int(ttl.total_seconds())} s)"
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


def _kept_for_an_interrupted_restore(pre: Backup, restored: str) -> BusyError:
    return BusyError(
        f"backup {pre.id} was not deleted: it is the pre-restore backup of the restore of backup {restored} "
        f"into {pre.database.name!r}, which was interrupted at an unknown point, so the database may be "
        f"incomplete; {pre.id} holds it as it was before, and was protected just now (the interrupted "
        f"restore has been reported). Check the database, restore {pre.id} if it is incomplete, then "
        "unprotect and delete it"
    )


def _settled_a_restore_that_touched_the_database(before: Backup, after: Backup) -> bool:
    """Whether settling the dead restore whose pre-restore backup is `before` (read before, `after` read
    after) found that it had got past its pre-restore backup, so may have changed the database: the
    settle then protects the pre-restore backup, to be restored if the database is incomplete."""
    return before.restoring is not None and before.status is BackupStatus.COMPLETED and after.is_protected


class RecordService:
    def __init__(self, context: ServiceContext, change_lock_ttl: timedelta = CHANGE_LOCK_TTL) -> None:
        self._ctx = context
        self._change_lock_ttl = change_lock_ttl

    def list(
        self, filter: BackupFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> BackupPage:
        return self._ctx.catalog.list_backups(filter, limit, cursor)

    def show(self, backup_id: str) -> Backup:
        return self._ctx.catalog.get_backup(backup_id)

    def delete(self, backup_id: str, actor: str) -> Backup:
        """Delete every stored copy, then the record. A copy that is already gone is fine; a copy that
        cannot be deleted keeps the record (minus the copies that are gone) and raises `StorageError`.
        Raises `BusyError` while the backup is running, in use by a running restore, or being changed,
        and when it was protected or taken up by a restore while its copies were being deleted."""
        ctx = self._ctx
        with ExitStack() as held:
            with refusals_audited(ctx.auditor, actor, AuditAction.DELETE, backup_id):
                lease = held.enter_context(
                    backup_change_lock(ctx.catalog, ctx.clock, backup_id, "delete", self._change_lock_ttl)
                )
                if lease is None:
                    raise _busy_changing(backup_id, self._change_lock_ttl)
                backup = self._deletable(backup_id, actor)
            return _Deletion(ctx, backup, actor, lease).run()

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
            before, backup = backup, ctx.catalog.get_backup(backup_id)  # the restore had died: reported
            if _settled_a_restore_that_touched_the_database(before, backup):
                raise _kept_for_an_interrupted_restore(backup, str(before.restoring))
            pre = restore_using(ctx.catalog, backup)
        if pre is not None:
            raise _busy_restoring(backup, pre)
        return backup

    def set_protected(self, backup_id: str, protected: bool, actor: str) -> Backup:
        """Raises `BusyError` while the backup is being deleted (it may be gone once that has finished)."""
        ctx = self._ctx
        action = AuditAction.PROTECT if protected else AuditAction.UNPROTECT
        with (
            refusals_audited(ctx.auditor, actor, action, backup_id),
            backup_change_lock(ctx.catalog, ctx.clock, backup_id, "protect", self._change_lock_ttl) as lease,
        ):
            if lease is None:
                raise _busy_changing(backup_id, self._change_lock_ttl)
            backup = ctx.catalog.get_backup(backup_id)
            backup.is_protected = protected
            ctx.catalog.update_backup(backup, only=("is_protected",))
        ctx.auditor.record(actor, action, backup.id)
        return backup


class _Deletion:
    """A user's delete of one backup, holding its change lock: every copy, then the record."""

    def __init__(self, ctx: ServiceContext, backup: Backup, actor: str, lease: Lease) -> None:
        self._ctx = ctx
        self._started = backup
        self._actor = actor
        self._lease = lease
        self._removed: list[StorageLocation] = []
        self._errors: list[str] = []

    def run(self) -> Backup:
        try:
            for location in list(self._started.locations):
                self._still_to_delete()
                self._delete_copy(location)
            current = self._still_to_delete()
            if not self._errors:
                self._ctx.catalog.delete_backup(current.id)
        except BusyError:
            raise  # `_stop` has kept the record and audited the delete
        except Exception as exc:  # the catalog failed it, maybe after copies went: the record must say so
            self._keep_record_quietly(f"a delete by {self._actor} failed: {describe_error(exc)}")
            raise
        if self._errors:
            self._keep_record("failed", f"a delete by {self._actor} kept this record: {self._error()}")
            raise StorageError(f"backup {current.id} could not be deleted everywhere: {self._error()}")
        details = {"outcome": "deleted", "removed": self._removed_kinds()}
        self._ctx.auditor.record(self._actor, AuditAction.DELETE, current.id, details)
        current.locations = []
        return current

    def _delete_copy(self, location: StorageLocation) -> None:
        try:
            self._ctx.storage(location.kind).delete(location.ref)
        except Exception as exc:
            self._errors.append(f"{location.kind}: {exc}")
        else:
            self._removed.append(location)

    def _still_to_delete(self) -> Backup:
        """The record as it is now, with the change lock renewed; stops the delete once the lock passed
        to another request or the record changed so that it must stay."""
        held = self._lease.renew()
        current = self._current()
        if current is None:
            self._stop("another request deleted it meanwhile")
        why = self._why_stop(held, current)
        if why is not None:
            self._stop(why)
        return current

    def _why_stop(self, held: bool, current: Backup) -> str | None:
        if not held:
            return f"its change lock was lost ({self._lease.lost}), so another request may be changing it"
        if current.is_protected and not self._started.is_protected:
            return "another request protected it meanwhile"
        pre = restore_using(self._ctx.catalog, current)
        if pre is not None:
            return f"a restore started with it meanwhile (pre-restore backup {pre.id})"
        return None

    def _stop(self, why: str) -> NoReturn:
        backup_id = self._started.id
        if self._removed:
            gone = ", ".join(self._removed_kinds())
            done = f"its copies in {gone} were deleted already; the record keeps the others"
        else:
            done = "nothing of it was deleted"
        errors = f" (and {self._error()})" if self._errors else ""
        stopped = BusyError(f"the delete of backup {backup_id} stopped: {why}; {done}{errors}")
        if self._removed or self._errors:
            self._keep_record("stopped", f"a delete by {self._actor} stopped: {why}; {done}{errors}", why)
        else:
            audit_refusal(self._ctx.auditor, self._actor, AuditAction.DELETE, stopped, backup_id)
        raise stopped

    def _keep_record_quietly(self, warning: str) -> None:
        """`_keep_record` for a delete that failed with an error of its own, which it must not hide."""
        try:
            self._keep_record("failed", warning)
        except Exception:
            _log.exception("backup %s: could not record what its failed delete removed", self._started.id)

    def _keep_record(self, outcome: str, warning: str, reason: str | None = None) -> None:
        """Audit the delete that did not finish, then write to the record, should it still exist, only
        what the delete changed: the copies that are gone, and `warning`."""
        details: dict[str, object] = {"outcome": outcome, "removed": self._removed_kinds()}
        details |= {"errors": self._errors} if self._errors else {}
        details |= {"reason": reason} if reason is not None else {}
        self._ctx.auditor.record(self._actor, AuditAction.DELETE, self._started.id, details, severity="ERROR")
        current = self._current()
        if current is None:
            return
        current.locations = [loc for loc in current.locations if loc not in self._removed]
        current.warnings = [*current.warnings, warning]
        try:
            self._ctx.catalog.update_backup(
                current, only=("locations", "warnings"), if_status=(self._started.status,)
            )
        except RecordChangedError as exc:
            raise StorageError(
                f"backup {current.id}: {warning}; but its record could not be updated ({exc}), so it may "
                f"still name the copies in {', '.join(self._removed_kinds())} that are gone"
            ) from exc

    def _current(self) -> Backup | None:
        try:
            return self._ctx.catalog.get_backup(self._started.id)
        except NotFoundError:
            return None

    def _removed_kinds(self) -> list[str]:
        return [str(location.kind) for location in self._removed]

    def _error(self) -> str:
        return "could not delete " + "; ".join(self._errors)
