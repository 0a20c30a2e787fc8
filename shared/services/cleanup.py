"""The cleanup service: carries out the retention plan, deleting every stored copy before a record.

Safety rules, in order of importance:

- A record is deleted only after every one of its stored copies is gone. A copy that fails to delete
  (`StorageError`, or `InvalidInputError` for a ref the storage refuses) keeps the record, minus the
  locations that did go, with a warning on it; the backup is reported in `failures` and cleanup goes on.
- A backup with a copy in a storage that is not configured here is not touched at all (a failure saying
  which storage), so no record is ever dropped while a file is left behind.
- Each backup is read again just before it is deleted, holding its change lock (`backup_change_lock`,
  which a protect takes too). It is skipped (kept, and no failure) when it was deleted by someone else,
  protected or no longer completed since the plan was made, is in use by a running restore, or when no
  backup the plan keeps for its database is left (so the last completed backup of a database is never
  deleted, even after a user deleted the newer ones meanwhile); the next run plans afresh.
- A backup protected or taken up by a restore by other means while its copies were deleted keeps its
  record, emptied, with a warning; it is a failure, with an audit entry.
- A dry run only plans: it deletes nothing and writes no audit entry, because it changes nothing.
- Only one cleanup deletes at a time (the catalog lock "cleanup"), so a Scheduler retry and a manual run
  never work on the same records together.

Each deletion, and each failed one, writes one `cleanup` audit entry. Errors other than `StorageError`
(a bug, a catalog outage) stop the run; running it again is safe, since deleting a gone file is no error.
A run refused (another cleanup holds the lock) or stopped (by such an error, or a lost lock) writes one
more, without a backup id, with `outcome` refused or failed and the error.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared.audit import Auditor
from shared.catalog.base import BackupFilter, Catalog
from shared.catalog.paging import every_backup
from shared.clock import Clock
from shared.errors import BusyError, InvalidInputError, NotFoundError, StorageError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus, StorageKind, StorageLocation
from shared.retention import RetentionPlan, RetentionPolicy, database_key, plan_retention
from shared.services.interrupted import RECENT_PRE_RESTORE_BACKUPS
from shared.services.locking import Lease
from shared.services.records import backup_change_lock, restore_using
from shared.services.refusals import refusals_audited
from shared.storage.base import Storage

_log = logging.getLogger("backup.cleanup")

PAGE_SIZE = 500
LOCK_NAME = "cleanup"
LOCK_TTL = timedelta(minutes=10)
"""How soon a crashed cleanup's lock frees itself; a running cleanup's heartbeat keeps it, however long."""


@dataclass(frozen=True)
class CleanupFailure:
    backup_id: str
    error: str


@dataclass(frozen=True)
class CleanupResult:
    plan: RetentionPlan
    dry_run: bool
    deleted: list[str] = field(default_factory=list)
    """Ids of the backups whose copies and record are gone."""
    failures: list[CleanupFailure] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the plan's keep (with reasons) and delete lists, the count deleted, the failures."""
        return {
            "keep": [{"id": kept.backup.id, "reasons": list(kept.reasons)} for kept in self.plan.keep],
            "delete": [{"id": backup.id} for backup in self.plan.delete],
            "deleted": len(self.deleted),
            "failures": [{"id": failure.backup_id, "error": failure.error} for failure in self.failures],
        }


def _location_dict(location: StorageLocation) -> dict[str, str]:
    return {"kind": str(location.kind), "ref": location.ref}


class CleanupService:
    def __init__(
        self,
        catalog: Catalog,
        storages: Mapping[StorageKind, Storage],
        auditor: Auditor,
        clock: Clock,
    ) -> None:
        self._catalog = catalog
        self._storages = storages
        self._auditor = auditor
        self._clock = clock

    def plan(self) -> RetentionPlan:
        """The retention plan for every completed backup, with the policy from the settings; a restore that
        is taking its pre-restore backup has its backup in use."""
        policy = RetentionPolicy.from_settings(self._catalog.get_settings())
        backups = self._completed_backups() + self._pre_restore_backups_being_taken()
        return plan_retention(backups, policy, self._clock.now())

    def run(self, actor: str, dry_run: bool) -> CleanupResult:
        """Plan, and unless `dry_run`, delete. Raises `BusyError` while another cleanup holds the lock. A run
        that is refused or stopped by an error is audited (a dry run is not: it changes nothing)."""
        if dry_run:
            return CleanupResult(plan=self.plan(), dry_run=True)
        owner = f"cleanup-{uuid.uuid4().hex}"
        lease = Lease(self._catalog, self._clock, LOCK_NAME, owner, LOCK_TTL, "cleanup", "cleanup")
        with refusals_audited(self._auditor, actor, AuditAction.CLEANUP):
            if not lease.take():
                raise BusyError("another cleanup is running; try again when it has finished")
            try:
                return self._carry_out(actor, self.plan(), lease)
            finally:
                lease.release()

    def _carry_out(self, actor: str, plan: RetentionPlan, lease: Lease) -> CleanupResult:
        deleted: list[str] = []
        failures: list[CleanupFailure] = []
        for planned in plan.delete:
            if not lease.renew():
                stopped = f"this cleanup stopped: its lock was lost ({lease.lost}); another cleanup goes on"
                failures.append(CleanupFailure(planned.id, stopped))
                details = {"outcome": "failed", "error": stopped}
                self._auditor.record(actor, AuditAction.CLEANUP, None, details, severity="ERROR")
                break
            with backup_change_lock(self._catalog, self._clock, planned.id, "cleanup") as held:
                backup = self._still_to_delete(planned.id, plan) if held else None
                if backup is None:
                    if not held:
                        _log.info("cleanup: kept backup %s: another request is changing it", planned.id)
                    continue
                error = self._delete_backup(actor, backup, plan.policy)
            if error is None:
                deleted.append(backup.id)
            else:
                failures.append(CleanupFailure(backup.id, error))
        return CleanupResult(plan=plan, dry_run=False, deleted=deleted, failures=failures)

    def _completed_backups(self) -> list[Backup]:
        return list(every_backup(self._catalog, BackupFilter(status=BackupStatus.COMPLETED), PAGE_SIZE))

    def _pre_restore_backups_being_taken(self) -> list[Backup]:
        """Not planned themselves, but their restores have the backups they will load in use already."""
        recent = BackupFilter(source=BackupSource.PRE_RESTORE)
        newest = self._catalog.list_backups(recent, limit=RECENT_PRE_RESTORE_BACKUPS).backups
        return [pre for pre in newest if pre.status is not BackupStatus.COMPLETED and pre.restoring]

    def _current_record(self, backup_id: str) -> Backup | None:
        """The record as it is now, or None when someone else deleted it since the plan was made."""
        try:
            return self._catalog.get_backup(backup_id)
        except NotFoundError:
            _log.info("cleanup: backup %s was already deleted; skipping it", backup_id)
            return None

    def _still_to_delete(self, backup_id: str, plan: RetentionPlan) -> Backup | None:
        """The record as it is now, or None when it is gone or must stay after what happened since the
        plan was made (logged: keeping it is no failure)."""
        backup = self._current_record(backup_id)
        if backup is None:
            return None
        why = self._needed_now(backup)
        if why is None and not self._a_kept_backup_is_left(backup, plan):
            why = "none of the backups the plan keeps for its database is left, and it must not be the last"
        if why is None:
            return backup
        _log.info("cleanup: kept backup %s: %s; the next run plans afresh", backup_id, why)
        return None

    def _needed_now(self, backup: Backup) -> str | None:
        """Why `backup` as read now must stay: protected, not completed, or in a running restore; or None."""
        if backup.is_protected:
            return "it is protected"
        if backup.status != BackupStatus.COMPLETED:
            return f"it is {backup.status}"
        pre = restore_using(self._catalog, backup)
        if pre is not None:
            return f"a restore is running with it (pre-restore backup {pre.id})"
        return None

    def _a_kept_backup_is_left(self, backup: Backup, plan: RetentionPlan) -> bool:
        """Whether a completed backup the plan keeps for `backup`'s database is still there."""
        database = database_key(backup.database)
        for kept in plan.keep:
            if database_key(kept.backup.database) == database and self._is_completed(kept.backup.id):
                return True
        return False

    def _is_completed(self, backup_id: str) -> bool:
        try:
            return self._catalog.get_backup(backup_id).status == BackupStatus.COMPLETED
        except NotFoundError:
            return False

    def _delete_backup(self, actor: str, backup: Backup, policy: RetentionPolicy) -> str | None:
        """Delete one planned backup's copies, then its record. None when all are gone, else the error."""
        missing = sorted({str(loc.kind) for loc in backup.locations if loc.kind not in self._storages})
        if missing:
            error = (
                f"storage {', '.join(missing)} not configured, so the copy there cannot be deleted; "
                "configure it and run cleanup again (nothing of this backup was deleted)"
            )
            self._record_failure(actor, backup, error, gone=[], policy=policy)
            return error

        gone: list[StorageLocation] = []
        remaining: list[StorageLocation] = []
        errors: list[str] = []
        for location in backup.locations:
            try:
                self._storages[location.kind].delete(location.ref)
            except (StorageError, InvalidInputError) as exc:  # InvalidInputError: a ref the storage refuses
                remaining.append(location)
                errors.append(f"{location.kind} copy {location.ref}: {exc}")
            else:
                gone.append(location)

        if errors:
            error = "could not delete " + "; ".join(errors)
            backup.locations = remaining
            backup.warnings.append(f"cleanup kept this record: {error}")
            self._catalog.update_backup(backup)
            self._record_failure(actor, backup, error, gone=gone, policy=policy)
            return error

        lost = self._kept_after_its_copies_went(actor, backup.id, gone, policy)
        if lost is not None:
            return lost
        self._catalog.delete_backup(backup.id)
        self._auditor.record(
            actor,
            AuditAction.CLEANUP,
            backup.id,
            {
                "result": "deleted",
                "reason": "kept by no retention rule",
                "policy": _policy_dict(policy),
                "locations": [_location_dict(loc) for loc in gone],
                "filename": backup.filename,
                "created_at": backup.created_at.isoformat(),
            },
        )
        return None

    def _kept_after_its_copies_went(
        self, actor: str, backup_id: str, gone: list[StorageLocation], policy: RetentionPolicy
    ) -> str | None:
        """The error when, read once more, the backup turns out protected or taken up by a restore by a
        writer that does not take its change lock: its record is kept, emptied, so that it says so."""
        current = self._current_record(backup_id)
        why = None if current is None else self._needed_now(current)
        if current is None or why is None:
            return None
        error = (
            f"its copies were deleted, and meanwhile {why}: the record is kept without copies, "
            "so the data of this backup is gone"
        )
        current.locations = []
        current.warnings.append(f"cleanup: {error}")
        self._catalog.update_backup(current)
        _log.error("cleanup: backup %s: %s", backup_id, error)
        self._record_failure(actor, current, error, gone=gone, policy=policy, severity="ERROR")
        return error

    def _record_failure(
        self,
        actor: str,
        backup: Backup,
        error: str,
        gone: list[StorageLocation],
        policy: RetentionPolicy,
        severity: str = "WARNING",
    ) -> None:
        self._auditor.record(
            actor,
            AuditAction.CLEANUP,
            backup.id,
            {
                "result": "failed",
                "error": error,
                "policy": _policy_dict(policy),
                "deleted_locations": [_location_dict(loc) for loc in gone],
                "remaining_locations": [_location_dict(loc) for loc in backup.locations],
            },
            severity=severity,
        )


def _policy_dict(policy: RetentionPolicy) -> dict[str, int]:
    return {"daily": policy.daily, "weekly": policy.weekly, "monthly": policy.monthly}
