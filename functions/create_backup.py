"""`create_backup`: take a backup of the configured database now (201 with the backup; 409 while busy)."""

from __future__ import annotations

import flask

from functions.http import Call, Endpoint, json_response, serve
from functions.validation import Field
from shared.models import BackupSource
from shared.services.backups import BackupService

ENDPOINT = Endpoint(
    name="create_backup",
    permission="backups.create",
    summary="Take a backup now",
    methods={"POST": {"protect": Field("boolean", "Protect the new backup from retention (default false).")}},
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    backup = BackupService(call.runtime.context).create(
        call.actor, BackupSource.MANUAL, protect=call.params.get("protect", False)
    )
    return json_response({"backup": backup.to_dict()}, 201)
