"""One scheduled backup run, made idempotent by a catalog run claim kept fresh while the backup runs.

The claim key is the Scheduler job + schedule time, so every retry of one run shares it: a retry after
a success gets the backup that was made; a retry while an attempt still runs is told so; a retry after
a failure runs again. The failure mail goes out once, from the final attempt.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.catalog.base import RunClaim, RunClaimState
from shared.errors import BusyError
from shared.models import Backup, BackupSource, DatabaseInfo
from shared.notify.base import scheduled_backup_failed
from shared.services.backups import BackupService, describe_error
from shared.services.context import ServiceContext

_log = logging.getLogger("backup.scheduled")


@dataclass(frozen=True)
class ScheduledRun:
    key: str
    scheduled_for: datetime | None
    retry_count: int | None
    """Scheduler's `X-CloudScheduler-RetryCount` (0 on the first attempt), when it sent one."""


@dataclass(frozen=True)
class RunOutcome:
    state: str
    """`completed`, `already_done`, `in_progress` or `failed`."""
    backup: Backup | None = None
    backup_id: str | None = None
    error: Exception | None = None
    attempt: int = 0
    final: bool = False


def run_scheduled_backup(ctx: ServiceContext, run: ScheduledRun, actor: str, max_retries: int) -> RunOutcome:
    owner = f"scheduled-{uuid.uuid4().hex}"
    claim = ctx.catalog.claim_run(run.key, owner, ctx.clock.now(), ctx.lock_ttl)
    if claim.state is RunClaimState.DONE:
        return RunOutcome("already_done", backup_id=claim.backup_id, attempt=claim.attempt)
    if claim.state is RunClaimState.IN_PROGRESS:
        return RunOutcome("in_progress", attempt=claim.attempt)
    attempt = _attempt_number(claim, run)
    final = attempt > max_retries
    try:
        with _ClaimHeartbeat(ctx, run.key, owner):
            backup = BackupService(ctx).create(actor, BackupSource.SCHEDULED)
    except Exception as exc:
        ctx.catalog.finish_run(run.key, owner, None, succeeded=False)
        if final:
            _notify(ctx, exc, run, attempt)
        else:
            _log.warning(
                "scheduled backup %s failed on attempt %d of %d; Scheduler will retry: %s",
                run.key,
                attempt,
                max_retries + 1,
                describe_error(exc),
            )
        return RunOutcome("failed", error=exc, attempt=attempt, final=final)
    if not ctx.catalog.finish_run(run.key, owner, backup.id, succeeded=True):
        _log.error("scheduled run %s: the claim was taken over while backup %s ran", run.key, backup.id)
    return RunOutcome("completed", backup=backup, backup_id=backup.id, attempt=attempt)


def _attempt_number(claim: RunClaim, run: ScheduledRun) -> int:
    """1-based. Scheduler's retry count when sent, else (and at least) how often the run was claimed."""
    from_header = run.retry_count + 1 if run.retry_count is not None else 0
    return max(claim.attempt, from_header)


def _notify(ctx: ServiceContext, exc: Exception, run: ScheduledRun, attempts: int) -> None:
    url = ctx.config.database_url
    database = (
        DatabaseInfo(engine=url.engine, name=url.database, host=url.cloudsql_instance or url.host)
        if url is not None
        else DatabaseInfo(engine="unknown", name="(BACKUP_DATABASE_URL not set)")
    )
    error: Exception | str = exc if not isinstance(exc, BusyError) else f"database busy: {exc}"
    ctx.notifier.send(scheduled_backup_failed(database, error, ctx.clock.now(), run.scheduled_for, attempts))


class _ClaimHeartbeat:
    """Re-claims the run every third of its TTL while the backup runs, so only a crashed run expires."""

    def __init__(self, ctx: ServiceContext, key: str, owner: str) -> None:
        self._ctx = ctx
        self._key = key
        self._owner = owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="run-claim-heartbeat", daemon=True)

    def __enter__(self) -> _ClaimHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        ttl: timedelta = self._ctx.lock_ttl
        while not self._stop.wait(ttl.total_seconds() / 3):
            try:
                self._ctx.catalog.claim_run(self._key, self._owner, self._ctx.clock.now(), ttl)
            except Exception:
                _log.exception("could not refresh the claim on scheduled run %s", self._key)
