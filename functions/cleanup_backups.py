"""`cleanup_backups`: apply the retention policy now, or only plan it (`dry_run`)."""

from __future__ import annotations

import flask

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


def _run(call: Call) -> flask.Response:
    result = run_cleanup(call, call.params.get("dry_run", False))
    return json_response({"dry_run": result.dry_run, **result.to_dict()}, 500 if result.failures else 200)
