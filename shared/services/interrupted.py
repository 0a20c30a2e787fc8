"""Runs that stopped without finishing (a function timeout, a crash, a lost instance), found by the next one.

A backup's record is pending or running only while its run holds the database's lock (`run_lock` names
it), and a pre-restore backup names the backup being restored (`restoring`) only while that restore runs
(from the start of the pre-restore backup).
Whoever takes the lock next knows that no other run holds it, so such records were left by a run that is
gone, which could not say so itself:
- its backup is marked failed (a record gets its stored files only once it completes) and what its
  uploads left behind is removed;
- its restore ended at an unknown point: a MySQL database, or a PostgreSQL one that had been committed in
  steps, may be incomplete. The pre-restore backup is protected, so retention keeps it, and the mail says
  which backup to restore. A restore that stopped while it took its pre-restore backup had not changed
  the database yet, and is reported so.
Both are audited and mailed. Deleting a running record settles its lock's runs first when no run holds
the lock (`settle_if_abandoned`).
"""

from __future__ import annotations

import logging
import uuid

from shared.catalog.base import BackupFilter, Catalog
from shared.catalog.paging import every_backup
from shared.dburl import DatabaseURL
from shared.errors import RecordChangedError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus
from shared.notify.base import DatabaseAfter, backup_failed, restore_failed
from shared.services.context import ServiceContext
from shared.services.leftovers import discard_files
from shared.services.locking import lock_name
from shared.services.stored_outcome import UNFINISHED

_log = logging.getLogger("backup.interrupted")

RECENT_PRE_RESTORE_BACKUPS = 20
"""How many of a database's newest pre-restore backups are looked at. Every restore settles the ones
before it, and stops should that fail, so an interrupted restore's is the newest of its database."""
_STOPPED = "stopped without finishing (a function timeout, a crash or a lost instance)"


def settle_interrupted_runs(ctx: ServiceContext, url: DatabaseURL, actor: str) -> None:
    """Fail and report the runs on `url`'s database that died; the caller holds the database's lock."""
    _settle(ctx, lock_name(url), actor)


def settle_if_abandoned(ctx: ServiceContext, lock: str, actor: str) -> bool:
    """Settle the runs of the database lock `lock` if no run holds it now; whether none did."""
    owner = f"settle-{uuid.uuid4().hex[:12]}"
    if not ctx.catalog.acquire_lock(lock, owner, ctx.clock.now(), ctx.lock_ttl):
        return False
    try:
        _settle(ctx, lock, actor)
    finally:
        ctx.catalog.release_lock(lock, owner)
    return True


def _settle(ctx: ServiceContext, lock: str, actor: str) -> None:
    for status in (BackupStatus.PENDING, BackupStatus.RUNNING):
        for backup in every_backup(ctx.catalog, BackupFilter(status=status, run_lock=lock)):
            _fail_backup(ctx, backup, actor)
    newest = ctx.catalog.list_backups(
        BackupFilter(source=BackupSource.PRE_RESTORE, run_lock=lock), limit=RECENT_PRE_RESTORE_BACKUPS
    )
    for pre in newest.backups:
        if pre.restoring is not None:
            _report_restore(ctx, pre, actor)


def _fail_backup(ctx: ServiceContext, backup: Backup, actor: str) -> None:
    """A pre-restore backup keeps its mark: its restore is reported next, which says the mail."""
    error = f"interrupted: the run taking this backup {_STOPPED}, so no file was kept"
    if backup.source is BackupSource.SCHEDULED:
        error += (
            ". It was an attempt of a scheduled run, which Scheduler retries (its final attempt mails if "
            "none succeeds): look in the backup list for a scheduled backup taken since before taking one "
            "by hand"
        )
    backup.status = BackupStatus.FAILED
    backup.completed_at = ctx.clock.now()
    backup.error_message = error
    try:
        # Recorded first, and only while still unfinished: a run that seemed stopped may have completed it.
        ctx.catalog.update_backup(backup, if_status=UNFINISHED)
    except RecordChangedError:
        return
    # A storage that cannot be reached now must not keep every later run of the database from starting.
    backup.warnings = [*backup.warnings, *discard_files(ctx, backup, ctx.storages)]
    try:
        ctx.catalog.update_backup(backup, only=("locations", "warnings"))
    except Exception:  # recorded failed already, so no later run settles it: it is reported here, now
        _log.exception("backup %s: its files were removed, but its record may still name them", backup.id)
    ctx.auditor.record(
        backup.created_by,
        AuditAction.CREATE,
        backup.id,
        {"outcome": "interrupted", "error": error, "found_by": actor},
        severity="ERROR",
    )
    if backup.restoring is None:
        ctx.notifier.send(backup_failed(backup.database, error, backup.completed_at, backup.id))


def _report_restore(ctx: ServiceContext, pre: Backup, actor: str) -> None:
    restored = pre.restoring
    assert restored is not None
    touched = pre.status is BackupStatus.COMPLETED  # else it stopped while taking the pre-restore backup
    if touched:
        error = (
            f"interrupted: the restore of backup {restored} into {pre.database.name!r} {_STOPPED}, at an "
            f"unknown point. A MySQL database, or a PostgreSQL one restored in steps or over several "
            f"connections, may be incomplete. The pre-restore backup {pre.id} holds the database as it was "
            f"before; it is now protected, so retention keeps it. Check the database, and restore {pre.id} "
            "if it is incomplete."
        )
        protected: str | None = f"protected: the restore of backup {restored} after it was interrupted"
    else:
        error = (
            f"interrupted: the restore of backup {restored} into {pre.database.name!r} {_STOPPED} while it "
            f"took the pre-restore backup {pre.id}, before it changed the database. Start the restore again."
        )
        protected = None
    end_restore_mark(ctx.catalog, pre, protected)
    ctx.auditor.record(
        pre.created_by,
        AuditAction.RESTORE,
        restored,
        {
            "outcome": "interrupted",
            "error": error,
            "pre_restore_backup_id": pre.id,
            "database_touched": touched,
            "found_by": actor,
        },
        severity="ERROR",
    )
    after = DatabaseAfter.MAY_BE_INCOMPLETE if touched else DatabaseAfter.UNCHANGED
    ctx.notifier.send(restore_failed(pre.database, error, ctx.clock.now(), restored, pre.id, after))


def end_restore_mark(catalog: Catalog, pre: Backup, protect_because: str | None = None) -> None:
    """Clear the mark of `pre`'s restore, writing only that (others may have changed the record since `pre`
    was read, e.g. protected it); with `protect_because`, protect `pre` in the same write and add that
    warning to the ones stored now."""
    pre.restoring = None
    if protect_because is None:
        catalog.update_backup(pre, only=("restoring",))
        return
    pre.is_protected = True
    pre.warnings = [*catalog.get_backup(pre.id).warnings, protect_because]
    catalog.update_backup(pre, only=("restoring", "is_protected", "warnings"))
