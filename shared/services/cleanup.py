"""The cleanup service: carries out the retention plan, deleting every stored copy before a record.

Safety rules, in order of importance:

- A record is deleted only after every one of its stored copies is gone. A copy that fails to delete
  (`StorageError`, or `InvalidInputError` for a ref the storage refuses) keeps the record, minus the
  locations that did go, with a warning on it; the backup is reported in `failures` and cleanup goes on.
- A backup with a copy in a storage that is not configured here is not touched at all (a failure saying
  which storage), so no record is ever dropped while a file is left behind.
- Each backup is read again just before it is deleted: one protected (or no longer completed) since the
  plan was made is kept and reported as a failure; one already deleted by someone else is skipped.
- A dry run only plans: it deletes nothing and writes no audit entry, because it changes nothing.
- Only one cleanup deletes at a time (the catalog lock "cleanup"), so a Scheduler retry and a manual run
  never work on the same records together.

Each deletion, and each failed one, writes one `cleanup` audit entry. Errors other than `StorageError`
(a bug, a catalog outage) stop the run; running it again is safe, since deleting a gone file is no error.
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
from shared.models import AuditAction, Backup, BackupStatus, StorageKind, StorageLocation
from shared.retention import RetentionPlan, RetentionPolicy, plan_retention
from shared.storage.base import Storage

_log = logging.getLogger("backup.cleanup")

PAGE_SIZE = 500
LOCK_NAME = "cleanup"
LOCK_TTL = timedelta(hours=1)
"""Longer than a function may run (60 minutes), so a lock outlives only a crashed run."""


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
        """The retention plan for every completed backup, with the policy from the settings."""
        policy = RetentionPolicy.from_settings(self._catalog.get_settings())
        return plan_retention(self._completed_backups(), policy, self._clock.now())

    def run(self, actor: str, dry_run: bool) -> CleanupResult:
        """Plan, and unless `dry_run`, delete. Raises `BusyError` while another cleanup holds the lock."""
        if dry_run:
            return CleanupResult(plan=self.plan(), dry_run=True)
        owner = f"cleanup-{uuid.uuid4().hex}"
        if not self._catalog.acquire_lock(LOCK_NAME, owner, self._clock.now(), LOCK_TTL):
            raise BusyError("another cleanup is running; try again when it has finished")
        try:
            return self._carry_out(actor, self.plan())
        finally:
            self._catalog.release_lock(LOCK_NAME, owner)

    def _carry_out(self, actor: str, plan: RetentionPlan) -> CleanupResult:
        deleted: list[str] = []
        failures: list[CleanupFailure] = []
        for planned in plan.delete:
            backup = self._current_record(planned.id)
            if backup is None:
                continue
            error = self._delete_backup(actor, backup, plan.policy)
            if error is None:
                deleted.append(backup.id)
            else:
                failures.append(CleanupFailure(backup.id, error))
        return CleanupResult(plan=plan, dry_run=False, deleted=deleted, failures=failures)

    def _completed_backups(self) -> list[Backup]:
        return list(every_backup(self._catalog, BackupFilter(status=BackupStatus.COMPLETED), PAGE_SIZE))

    def _current_record(self, backup_id: str) -> Backup | None:
        """The record as it is now, or None when someone else deleted it since the plan was made."""
        try:
            return self._catalog.get_backup(backup_id)
        except NotFoundError:
            _log.info("cleanup: backup %s was already deleted; skipping it", backup_id)
            return None

    def _delete_backup(self, actor: str, backup: Backup, policy: RetentionPolicy) -> str | None:
        """Delete one planned backup's copies, then its record. None when all are gone, else the error."""
        if backup.is_protected or backup.status != BackupStatus.COMPLETED:
            return (
                f"backup {backup.id} was protected or changed status after the plan was made; "
                "it was kept, run cleanup again to re-plan"
            )

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

    def _record_failure(
        self,
        actor: str,
        backup: Backup,
        error: str,
        gone: list[StorageLocation],
        policy: RetentionPolicy,
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
            severity="WARNING",
        )


def _policy_dict(policy: RetentionPolicy) -> dict[str, int]:
    return {"daily": policy.daily, "weekly": policy.weekly, "monthly": policy.monthly}
