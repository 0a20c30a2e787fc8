"""The `Catalog` seam: backups, the settings record, the audit log, per-database locks and run claims."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from shared.models import Backup, BackupLog, BackupSettings, BackupSource, BackupStatus


@dataclass(frozen=True)
class BackupFilter:
    status: BackupStatus | None = None
    source: BackupSource | None = None
    is_protected: bool | None = None
    run_lock: str | None = None
    """The database lock of the records' runs (`lock_name`): one database's records, not shown in the API."""


@dataclass(frozen=True)
class BackupPage:
    backups: list[Backup]
    next_cursor: str | None
    """Opaque; pass back to get the next page. None on the last page."""


class RunClaimState(StrEnum):
    CLAIMED = "claimed"
    """The caller holds the run now and should do the work."""
    IN_PROGRESS = "in_progress"
    """Another owner holds an unexpired claim; the caller should not start."""
    DONE = "done"
    """The run succeeded already; `backup_id` is what it produced."""


@dataclass(frozen=True)
class RunClaim:
    """The answer to `Catalog.claim_run`: whether the caller got the run, and if not, why."""

    state: RunClaimState
    owner: str
    """The owner holding the claim now (the caller when CLAIMED)."""
    attempt: int
    """How many owners have asked for the run, this one included (1 on the first claim): a refused
    (IN_PROGRESS) ask counts, an owner re-claiming its own run does not. DONE: as the run ended."""
    backup_id: str | None = None

    @property
    def claimed(self) -> bool:
        return self.state is RunClaimState.CLAIMED


class Catalog(Protocol):
    """Records of the service. Listing is newest first (created_at, then id, descending)."""

    def add_backup(self, backup: Backup) -> None:
        """Store a new record. Raises `InvalidInputError` when the id exists already."""
        ...

    def update_backup(
        self,
        backup: Backup,
        *,
        only: Collection[str] = (),
        if_status: Collection[BackupStatus] = (),
    ) -> None:
        """Write `backup` over its stored record: only the attributes named in `only` (all when empty), and
        only while the stored status is one of `if_status` (any when empty), else `RecordChangedError` and
        nothing is written. Raises `NotFoundError` when the record does not exist."""
        ...

    def get_backup(self, backup_id: str) -> Backup:
        """Raises `NotFoundError` when there is no such backup."""
        ...

    def list_backups(
        self, filter: BackupFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> BackupPage:
        """Raises `InvalidInputError` on a cursor this catalog did not make."""
        ...

    def delete_backup(self, backup_id: str) -> None:
        """Remove a record; one that is already gone is not an error."""
        ...

    def get_settings(self) -> BackupSettings:
        """The settings record, or defaults when none has been saved."""
        ...

    def save_settings(self, settings: BackupSettings) -> None: ...

    def add_log(self, entry: BackupLog) -> BackupLog:
        """Store an audit entry and return it with its id."""
        ...

    def list_logs(self, backup_id: str | None = None, limit: int = 100) -> list[BackupLog]:
        """Newest first; only the entries of `backup_id` when given."""
        ...

    def acquire_lock(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Take the lock `name` for `owner` until `now + ttl`. True when taken (or already held by
        `owner`, which extends it); False while another owner holds an unexpired lock."""
        ...

    def release_lock(self, name: str, owner: str) -> None:
        """Free the lock if `owner` holds it; otherwise do nothing."""
        ...

    def claim_run(self, key: str, owner: str, now: datetime, ttl: timedelta) -> RunClaim:
        """Claim the idempotent run `key` (e.g. a scheduled run's schedule time) for `owner` until
        `now + ttl`. CLAIMED when new, held by `owner` already (extended), failed before (a retry) or
        expired; IN_PROGRESS while another owner's claim is unexpired; DONE once it has succeeded."""
        ...

    def finish_run(self, key: str, owner: str, backup_id: str | None, succeeded: bool) -> bool:
        """Record how `owner`'s run ended. A failed run can be claimed again. Returns False (and
        changes nothing) when `owner` does not hold the claim, e.g. another owner took it over."""
        ...
