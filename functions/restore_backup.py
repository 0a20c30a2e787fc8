"""`restore_backup`: replace the database with a backup; `confirm` must repeat the id."""

from __future__ import annotations

import flask

from functions.http import Call, Endpoint, json_response, serve
from functions.validation import RequestValidationError, backup_id_field
from shared.services.backups import BackupService
from shared.services.restore import RestoreService

ENDPOINT = Endpoint(
    name="restore_backup",
    permission="backups.restore",
    summary="Restore a backup into the configured database (a pre-restore backup is taken first)",
    methods={
        "POST": {
            "id": backup_id_field("The backup to restore."),
            "confirm": backup_id_field("The same id again, to confirm the database will be replaced."),
        }
    },
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    if call.params["confirm"] != call.params["id"]:
        raise RequestValidationError({"confirm": "must equal id"}, "restore not confirmed")
    context = call.runtime.context
    outcome = RestoreService(context, BackupService(context)).restore(call.params["id"], call.actor)
    return json_response(
        {"restored": outcome.backup.id, "pre_restore_backup_id": outcome.pre_restore_backup.id}
    )
