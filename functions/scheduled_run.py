"""One scheduled backup run, made idempotent by a catalog run claim kept fresh while the backup runs.

The claim key is the Scheduler job + schedule time, so every retry of one run shares it: a retry after
a success gets the backup that was made; a retry while an attempt still runs is told so; a retry after
a failure runs again. The failure mail goes out once, from the final attempt, also when that attempt
finds an earlier one still holding the run (which may have crashed: its claim outlives the first retries).

A run while the settings have `schedule_enabled` off takes no backup and claims nothing (so a retry of the
same run once they are on again takes it); it is logged and audited as skipped. Settings or a claim that
cannot be read fail the attempt like a failed backup (Scheduler retries; the last attempt, by Scheduler's
retry count, sends the mail).
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.catalog.base import RunClaim, RunClaimState
from shared.errors import BusyError
from shared.models import AuditAction, Backup, BackupSource, DatabaseInfo
from shared.notify.base import scheduled_backup_failed
from shared.scheduler_retries import TERRAFORM_DEFAULT, RetryBackoff
from shared.services.backups import BackupService, describe_error
from shared.services.context import ServiceContext

_log = logging.getLogger("backup.scheduled")

SCHEDULE_OFF_REASON = (
    "scheduled backups are turned off in the settings (schedule_enabled is false); turn them on with "
    'backup_settings (PUT {"schedule_enabled": true}) or `python main.py settings --set '
    "schedule_enabled=true`, or take an on-demand backup with create_backup"
)


@dataclass(frozen=True)
class ScheduledRun:
    key: str
    scheduled_for: datetime | None
    retry_count: int | None
    """Scheduler's `X-CloudScheduler-RetryCount` (0 on the first attempt), when it sent one."""


@dataclass(frozen=True)
class RunOutcome:
    state: str
    """`completed`, `already_done`, `in_progress`, `skipped` (the schedule is off) or `failed`."""
    backup: Backup | None = None
    backup_id: str | None = None
    error: Exception | None = None
    attempt: int = 0
    final: bool = False
    reason: str | None = None
    """Why a `skipped` run took no backup."""


def run_scheduled_backup(
    ctx: ServiceContext,
    run: ScheduledRun,
    actor: str,
    max_retries: int,
    backoff: RetryBackoff = TERRAFORM_DEFAULT,
) -> RunOutcome:
    owner = f"scheduled-{uuid.uuid4().hex}"
    try:
        if not ctx.catalog.get_settings().schedule_enabled:  # unreadable settings: neither skip nor backup
            return _skip(ctx, run, actor)
        claim = ctx.catalog.claim_run(run.key, owner, ctx.clock.now(), ctx.lock_ttl)
    except Exception as exc:  # the catalog cannot be read: an attempt that failed, mailed when the last
        attempt = uncounted_attempt(run, ctx.clock.now(), max_retries, backoff)
        return _failed(ctx, exc, run, attempt, max_retries)
    if claim.state is RunClaimState.DONE:
        return RunOutcome("already_done", backup_id=claim.backup_id, attempt=claim.attempt)
    attempt = attempt_number(claim, run)
    if claim.state is RunClaimState.IN_PROGRESS:
        return _held_by_another(ctx, run, attempt, max_retries)

    try:
        with _ClaimHeartbeat(ctx, run.key, owner):
            backup = BackupService(ctx).create(actor, BackupSource.SCHEDULED)
    except Exception as exc:
        try:
            ctx.catalog.finish_run(run.key, owner, None, succeeded=False)
        except Exception as unrecorded:  # the claim then expires with its TTL; the failure is still told
            _log.error("scheduled run %s: could not record the failed attempt: %s", run.key, unrecorded)
        return _failed(ctx, exc, run, attempt, max_retries)
    if not ctx.catalog.finish_run(run.key, owner, backup.id, succeeded=True):
        _log.error("scheduled run %s: the claim was taken over while backup %s ran", run.key, backup.id)
    return RunOutcome("completed", backup=backup, backup_id=backup.id, attempt=attempt)


def _failed(
    ctx: ServiceContext, exc: Exception, run: ScheduledRun, attempt: int, max_retries: int
) -> RunOutcome:
    """Mail the failure when Scheduler will not try again; else log that it will."""
    final = attempt > max_retries
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


def _held_by_another(ctx: ServiceContext, run: ScheduledRun, attempt: int, max_retries: int) -> RunOutcome:
    """An earlier attempt still holds the run: it is running, or it crashed and its claim has not expired.
    The last attempt says so by mail, since no attempt after it will take the backup."""
    final = attempt > max_retries
    if final:
        held = (
            "the last attempt found an earlier attempt of this run still holding it, so it took no "
            "backup. That attempt may still finish, or it stopped without finishing (a timeout, a crash, "
            f"a lost instance; its claim expires after {int(ctx.lock_ttl.total_seconds())} s): if the "
            "backup list shows no scheduled backup for this run, take one with create_backup"
        )
        _notify(ctx, held, run, attempt)
    else:
        _log.warning(
            "scheduled backup %s: attempt %d of %d found an earlier attempt still holding the run; "
            "Scheduler will retry",
            run.key,
            attempt,
            max_retries + 1,
        )
    return RunOutcome("in_progress", attempt=attempt, final=final)


def _skip(ctx: ServiceContext, run: ScheduledRun, actor: str) -> RunOutcome:
    when = run.scheduled_for.isoformat() if run.scheduled_for else None
    _log.warning(
        "scheduled backup %s (scheduled for %s) skipped: schedule_enabled is false in the settings, yet the "
        "run was triggered (saving the settings pauses the Scheduler job only when "
        "BACKUP_SCHEDULER_BACKUP_JOB is set; the job may also have been resumed or run by hand)",
        run.key,
        when or "a manual run",
    )
    details = {
        "outcome": "skipped",
        "reason": SCHEDULE_OFF_REASON,
        "source": str(BackupSource.SCHEDULED),
        "run_key": run.key,
        "scheduled_for": when,
        "retry_count": run.retry_count,
    }
    ctx.auditor.record(actor, AuditAction.CREATE, None, details, severity="WARNING")
    return RunOutcome("skipped", reason=SCHEDULE_OFF_REASON)


def attempt_number(claim: RunClaim, run: ScheduledRun) -> int:
    """1-based. Scheduler's retry count when sent (a duplicate delivery of one attempt is not another
    attempt), else how many attempts asked the catalog for the run, refused ones included."""
    return run.retry_count + 1 if run.retry_count is not None else claim.attempt


def uncounted_attempt(run: ScheduledRun, now: datetime, max_retries: int, backoff: RetryBackoff) -> int:
    """1-based, for an attempt the catalog could not count: Scheduler's retry count when sent, else the
    most attempts its backoff allows since the scheduled time. Such an attempt fails within the catalog's
    deadline, so each retry comes about one backoff after the one before, and the final attempt is not
    taken for an earlier one (an earlier one may be taken for the final: a mail too many, not none)."""
    if run.retry_count is not None:
        return run.retry_count + 1
    if run.scheduled_for is None:
        return 1
    return backoff.attempts_possible((now - run.scheduled_for).total_seconds(), max_retries)


def configured_database(ctx: ServiceContext) -> DatabaseInfo:
    """The database the service backs up, as a mail names it."""
    url = ctx.config.database_url
    if url is None:
        return DatabaseInfo(engine="unknown", name="(BACKUP_DATABASE_URL not set)")
    return DatabaseInfo(engine=url.engine, name=url.database, host=url.cloudsql_instance or url.host)


def _notify(ctx: ServiceContext, exc: Exception | str, run: ScheduledRun, attempts: int) -> None:
    error: Exception | str = exc if not isinstance(exc, BusyError) else f"database busy: {exc}"
    database, now = configured_database(ctx), ctx.clock.now()
    ctx.notifier.send(scheduled_backup_failed(database, error, now, run.scheduled_for, attempts))


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
        # Until a refresh under way has ended (catalog calls have deadlines): one that ended after the run
        # was finished would claim it again, and every retry would be told "in progress" until the TTL.
        self._thread.join()

    def _beat(self) -> None:
        ttl: timedelta = self._ctx.lock_ttl
        while not self._stop.wait(ttl.total_seconds() / 3):
            try:
                self._ctx.catalog.claim_run(self._key, self._owner, self._ctx.clock.now(), ttl)
            except Exception:
                _log.exception("could not refresh the claim on scheduled run %s", self._key)
