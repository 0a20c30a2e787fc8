"""`scheduled_cleanup`: Cloud Scheduler's retention target, run after the backup window.

200 with what was deleted; 409 while another cleanup runs; 500 when some backups could not be deleted
(so the job shows as failed and Scheduler retries, which is safe: deleting again skips what is gone), with
`X-Backup-Attempt` and `X-Backup-Final-Attempt`; the final attempt mails the failure (a call without
Scheduler headers at once).
The body may carry `{"job": <full name>}`, as the Terraform jobs send it; it is not used.
"""

from __future__ import annotations

import flask

from functions.cleanup_backups import cleanup_response, run_cleanup
from functions.http import Call, Endpoint, serve
from functions.scheduled_backup import (
    JOB_HEADER,
    RETRY_HEADER,
    SCHEDULER_JOB_FIELD,
    TIME_HEADER,
    scheduled_run_from,
)
from functions.scheduled_cleanup_run import run_scheduled_cleanup

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
    headers = call.request.headers
    from_scheduler = bool(headers.get(JOB_HEADER) and headers.get(TIME_HEADER))
    run = scheduled_run_from(call, operation="cleanup") if from_scheduler else None
    max_retries = call.runtime.config.scheduler.max_retries
    result, attempt, final = run_scheduled_cleanup(
        call.runtime.context, run, max_retries, lambda: run_cleanup(call, dry_run=False)
    )
    response = cleanup_response(result)
    response.headers["X-Backup-Attempt"] = str(attempt)
    response.headers["X-Backup-Final-Attempt"] = "true" if final else "false"
    return response
