"""`delete_backup`: delete every stored copy of a backup, then its record."""

from __future__ import annotations

import flask

from functions.http import Call, Endpoint, json_response, serve
from functions.validation import backup_id_field
from shared.services.records import RecordService

ENDPOINT = Endpoint(
    name="delete_backup",
    permission="backups.delete",
    summary="Delete a backup (every stored copy, then the record)",
    methods={"POST": {"id": backup_id_field("The backup to delete.")}},
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    backup = RecordService(call.runtime.context).delete(call.params["id"], call.actor)
    return json_response({"deleted": backup.id})
