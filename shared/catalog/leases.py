"""What locks and run claims decide, apart from where they are stored: both catalogs apply these rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.catalog.base import RunClaim, RunClaimState
from shared.catalog.records import utc
from shared.errors import InvalidInputError

KEPT_AFTER_LAST_WRITE = timedelta(days=30)
"""How long a lock or run claim document outlives its last write (and its own expiry) before the Firestore
TTL policy on `delete_after` may delete it (infra/firestore.tf). An expired lock decides nothing, so only
run claims need keeping: a claim is consulted again by retries of the same run, which for Scheduler come
within about two hours (infra/scheduler.tf: 3 retries minutes apart, each attempt at most 30 minutes), and
for a manual `run_key` whenever the caller repeats it by hand. Thirty days is far past the first and a
generous bound on the second, leaves a month to look at a run's record when asking what became of it, and
keeps about sixty documents for a daily backup and cleanup. Nothing else reads these documents: a run left
unfinished is found from its backup record (`services.interrupted`), not from its claim."""


@dataclass(frozen=True)
class LockRecord:
    owner: str
    expires_at: datetime


class RunState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class RunRecord:
    owner: str
    state: RunState
    expires_at: datetime
    attempt: int
    backup_id: str | None = None


def delete_after(written_at: datetime, expires_at: datetime) -> datetime:
    """When a lock or run record written at `written_at` may be deleted: `KEPT_AFTER_LAST_WRITE` after that
    write, and never sooner than that long after the lock or claim itself expires. The Firestore catalog
    stores it in each lock and run document for its TTL policy; the SQLite catalog keeps its rows."""
    return max(utc(written_at, "the write time"), utc(expires_at, "expires_at")) + KEPT_AFTER_LAST_WRITE


def _check(name: str, owner: str, now: datetime, ttl: timedelta) -> datetime:
    if not name or not owner:
        raise InvalidInputError("a lock or run needs a non-empty name and owner")
    if ttl <= timedelta(0):
        raise InvalidInputError(f"ttl must be positive (got {ttl})")
    return utc(now, "now") + ttl


def take_lock(
    current: LockRecord | None, name: str, owner: str, now: datetime, ttl: timedelta
) -> LockRecord | None:
    """The record to store when `owner` gets the lock; None while another owner holds it unexpired."""
    expires_at = _check(name, owner, now, ttl)
    if current is not None and current.owner != owner and current.expires_at > utc(now, "now"):
        return None
    return LockRecord(owner=owner, expires_at=expires_at)


def claim(
    current: RunRecord | None, key: str, owner: str, now: datetime, ttl: timedelta
) -> tuple[RunClaim, RunRecord | None]:
    """The answer for the caller and the record to store (None when nothing changes)."""
    expires_at = _check(key, owner, now, ttl)
    if current is None:
        record = RunRecord(owner=owner, state=RunState.RUNNING, expires_at=expires_at, attempt=1)
        return RunClaim(RunClaimState.CLAIMED, owner, 1), record
    if current.state is RunState.SUCCEEDED:
        return RunClaim(RunClaimState.DONE, current.owner, current.attempt, current.backup_id), None
    if current.state is RunState.RUNNING and current.owner == owner:
        record = replace(current, expires_at=expires_at)
        return RunClaim(RunClaimState.CLAIMED, owner, current.attempt, current.backup_id), record
    attempt = current.attempt + 1  # a refused attempt counts too: the last one must know it is the last
    if current.state is RunState.RUNNING and current.expires_at > utc(now, "now"):
        answer = RunClaim(RunClaimState.IN_PROGRESS, current.owner, attempt, current.backup_id)
        return answer, replace(current, attempt=attempt)
    record = RunRecord(owner=owner, state=RunState.RUNNING, expires_at=expires_at, attempt=attempt)
    return RunClaim(RunClaimState.CLAIMED, owner, attempt), record


def finish(current: RunRecord | None, owner: str, backup_id: str | None, succeeded: bool) -> RunRecord | None:
    """The finished record to store; None when `owner` does not hold a running claim."""
    if current is None or current.owner != owner or current.state is not RunState.RUNNING:
        return None
    state = RunState.SUCCEEDED if succeeded else RunState.FAILED
    return replace(current, state=state, backup_id=backup_id)
