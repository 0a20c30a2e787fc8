"""`scheduled_cleanup`: Cloud Scheduler's retention target, run after the backup window.

200 with what was deleted; 500 when some backups could not be deleted (so the job shows as failed and
Scheduler retries, which is safe: deleting again skips what is gone); a run that fails as a whole answers
with its error's status (409 while another cleanup runs, 503 when the catalog does not answer, else 500).
Each of these carries `X-Backup-Attempt` and `X-Backup-Final-Attempt`; the final attempt mails the failure
(a call without Scheduler headers at once). A call with any Scheduler header is a scheduled run, and its
headers are checked as `scheduled_backup` checks them (400 naming each one missing or malformed).
The body may carry `{"job": <full name>}`, as the Terraform jobs send it; it is not used.
"""

from __future__ import annotations

import flask

from functions.cleanup_backups import cleanup_response, run_cleanup
from functions.http import Call, Endpoint, response_for_error, serve
from functions.scheduled_backup import (
    JOB_HEADER,
    RETRY_HEADER,
    SCHEDULER_HEADERS,
    SCHEDULER_JOB_FIELD,
    TIME_HEADER,
    scheduled_run_from,
    with_attempt_headers,
)
from functions.scheduled_cleanup_run import run_scheduled_cleanup
from functions.scheduled_run import ScheduledRun

ENDPOINT = Endpoint(
    name="scheduled_cleanup",
    permission="backups.run-scheduled",
    summary="Scheduled retention run (Cloud Scheduler target)",
    methods={"POST": {"job": SCHEDULER_JOB_FIELD}},
    headers={
        JOB_HEADER: "Sent by Cloud Scheduler: the job's short name (with the schedule time, names the run).",
        TIME_HEADER: "Sent by Cloud Scheduler: the run's schedule time (RFC 3339, with an offset).",
        RETRY_HEADER: "Sent by Cloud Scheduler: 0 on the first attempt (ASCII digits).",
    },
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    scheduler = call.runtime.config.scheduler
    outcome = run_scheduled_cleanup(
        call.runtime.context,
        _scheduled_run(call),
        scheduler.max_retries,
        lambda: run_cleanup(call, dry_run=False),
        scheduler.backoff,
    )
    if outcome.result is not None:
        response = cleanup_response(outcome.result)
    else:
        assert outcome.error is not None
        response = response_for_error(outcome.error, ENDPOINT.name)
    return with_attempt_headers(response, outcome.attempt, outcome.final)


def _scheduled_run(call: Call) -> ScheduledRun | None:
    """None for a manual call, which sends no Scheduler header at all."""
    if all(call.request.headers.get(name) is None for name in SCHEDULER_HEADERS):
        return None
    manual_run = "send none of the X-CloudScheduler headers for a manual run"
    return scheduled_run_from(call, operation="cleanup", manual_run=manual_run)
