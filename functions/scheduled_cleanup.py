"""`scheduled_cleanup`: Cloud Scheduler's retention target, run after the backup window.

200 with what was deleted; 409 while another cleanup runs; 500 when some backups could not be deleted
(so the job shows as failed and Scheduler retries, which is safe: deleting again skips what is gone).
The body may carry `{"job": <full name>}`, as the Terraform jobs send it; it is not used.
"""

from __future__ import annotations

import flask

from functions.cleanup_backups import cleanup_response, run_cleanup
from functions.http import Call, Endpoint, serve
from functions.scheduled_backup import SCHEDULER_JOB_FIELD

ENDPOINT = Endpoint(
    name="scheduled_cleanup",
    permission="backups.run-scheduled",
    summary="Scheduled retention run (Cloud Scheduler target)",
    methods={"POST": {"job": SCHEDULER_JOB_FIELD}},
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    return cleanup_response(run_cleanup(call, dry_run=False))
