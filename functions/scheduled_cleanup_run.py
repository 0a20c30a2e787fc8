"""One scheduled cleanup, counted per scheduled run so that only its final attempt mails a failure.

A cleanup is safe to repeat (what is gone is skipped) and the cleanup lock keeps two from overlapping, so
the run claim is used here only to count attempts: Scheduler retries a failed cleanup, and a mail per
attempt would be three false alarms for one passing fault, or four mails for one lasting one. A manual
call (no Scheduler headers) has no retries to wait for: its failure is mailed at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from functions.scheduled_run import ScheduledRun, attempt_number, configured_database, uncounted_attempt
from shared.errors import BusyError
from shared.notify.base import describe_error, scheduled_cleanup_failed
from shared.scheduler_retries import TERRAFORM_DEFAULT, RetryBackoff
from shared.services.cleanup import CleanupResult
from shared.services.context import ServiceContext

_log = logging.getLogger("backup.scheduled")


@dataclass(frozen=True)
class CleanupOutcome:
    """What `clean()` returned, or what it raised (the run failed as a whole); either way the attempt's
    number and whether it was the final one."""

    result: CleanupResult | None
    error: Exception | None
    attempt: int
    final: bool


def run_scheduled_cleanup(
    ctx: ServiceContext,
    run: ScheduledRun | None,
    max_retries: int,
    clean: Callable[[], CleanupResult],
    backoff: RetryBackoff = TERRAFORM_DEFAULT,
) -> CleanupOutcome:
    """Run `clean()`; a failure is mailed on the final attempt (not `BusyError`: another cleanup runs)."""
    owner = f"scheduled-cleanup-{uuid.uuid4().hex}"
    attempt = _attempt(ctx, run, owner, max_retries, backoff)
    final = run is None or attempt > max_retries
    try:
        result = clean()
    except BusyError as exc:
        _finish(ctx, run, owner, succeeded=False)
        return CleanupOutcome(None, exc, attempt, final)
    except Exception as exc:
        _finish(ctx, run, owner, succeeded=False)
        _report(ctx, run, attempt, final, exc, {})
        return CleanupOutcome(None, exc, attempt, final)
    _finish(ctx, run, owner, succeeded=not result.failures)
    if result.failures:
        due = len(result.plan.delete)
        summary = f"{len(result.failures)} of {due} backups due for deletion could not be deleted"
        _report(ctx, run, attempt, final, summary, {f.backup_id: f.error for f in result.failures})
    return CleanupOutcome(result, None, attempt, final)


def _attempt(
    ctx: ServiceContext, run: ScheduledRun | None, owner: str, max_retries: int, backoff: RetryBackoff
) -> int:
    if run is None:
        return 1
    try:
        claim = ctx.catalog.claim_run(run.key, owner, ctx.clock.now(), ctx.lock_ttl)
    except Exception as exc:  # the cleanup needs the catalog too, and will say what is wrong
        _log.warning("scheduled cleanup %s: attempt not counted: %s", run.key, describe_error(exc))
        return uncounted_attempt(run, ctx.clock.now(), max_retries, backoff)
    return attempt_number(claim, run)


def _finish(ctx: ServiceContext, run: ScheduledRun | None, owner: str, succeeded: bool) -> None:
    if run is None:
        return
    try:
        ctx.catalog.finish_run(run.key, owner, None, succeeded=succeeded)
    except Exception as exc:  # the claim then expires with its TTL; the next attempt still counts
        _log.warning("scheduled cleanup %s: could not record the attempt: %s", run.key, describe_error(exc))


def _report(
    ctx: ServiceContext,
    run: ScheduledRun | None,
    attempt: int,
    final: bool,
    error: Exception | str,
    not_deleted: Mapping[str, str],
) -> None:
    if not final:
        _log.warning(
            "scheduled cleanup failed on attempt %d; Scheduler will retry: %s", attempt, describe_error(error)
        )
        return
    when = run.scheduled_for if run is not None else None
    attempts = attempt if run is not None else None
    database, now = configured_database(ctx), ctx.clock.now()
    ctx.notifier.send(scheduled_cleanup_failed(database, error, now, not_deleted, when, attempts))
