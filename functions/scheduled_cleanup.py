"""`scheduled_cleanup`: Cloud Scheduler's retention target, run after the backup window.

200 with what was deleted; 409 while another cleanup runs; 500 when some backups could not be deleted
(so the job shows as failed and Scheduler retries, which is safe: deleting again skips what is gone).
"""

from __future__ import annotations

import flask

from functions.cleanup_backups import run_cleanup
from functions.http import Call, Endpoint, json_response, serve

ENDPOINT = Endpoint(
    name="scheduled_cleanup",
    permission="backups.run-scheduled",
    summary="Scheduled retention run (Cloud Scheduler target)",
    methods={"POST": {}},
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    result = run_cleanup(call, dry_run=False)
    return json_response({"dry_run": False, **result.to_dict()}, 500 if result.failures else 200)
