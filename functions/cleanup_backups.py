"""`cleanup_backups`: apply the retention policy now (which deletes, so it also takes `backups.delete`), or
only plan it (`dry_run`)."""

from __future__ import annotations

import flask

from functions import delete_backup
from functions.http import Call, Endpoint, json_response, serve
from functions.validation import Field
from shared.services.cleanup import CleanupResult, CleanupService

ENDPOINT = Endpoint(
    name="cleanup_backups",
    permission="backups.manage-settings",
    summary="Apply the retention policy (or plan it with dry_run)",
    methods={"POST": {"dry_run": Field("boolean", "Only report what would be deleted (default false).")}},
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def run_cleanup(call: Call, dry_run: bool) -> CleanupResult:
    ctx = call.runtime.context
    return CleanupService(ctx.catalog, ctx.storages, ctx.auditor, ctx.clock).run(call.actor, dry_run)


def cleanup_response(result: CleanupResult) -> flask.Response:
    """200 with the result; 500 when some backups could not be deleted, with an `error` summing it up."""
    body = {"dry_run": result.dry_run, **result.to_dict()}
    if not result.failures:
        return json_response(body)
    summary = (
        f"{len(result.failures)} of {len(result.plan.delete)} backups due for deletion could not be "
        "deleted; `failures` says why for each"
    )
    return json_response({"error": summary, **body}, 500)


def _run(call: Call) -> flask.Response:
    dry_run = call.params.get("dry_run", False)
    if not dry_run:
        because = "a cleanup that is not a dry run deletes backups"
        call.runtime.guard.require(call.caller, delete_backup.ENDPOINT.permission, ENDPOINT.name, because)
    return cleanup_response(run_cleanup(call, dry_run))
