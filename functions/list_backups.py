"""`list_backups`: one backup by `id`, or a page of backups (newest first) with filters and a cursor."""

from __future__ import annotations

import flask

from functions.http import Call, Endpoint, json_response, serve
from functions.validation import BACKUP_ID_PATTERN, Field, RequestValidationError
from shared.catalog.base import BackupFilter
from shared.models import BackupSource, BackupStatus
from shared.services.records import RecordService

_FIELDS = {
    "id": Field(
        "string",
        "Show this one backup; other parameters are then not allowed.",
        max_length=64,
        pattern=BACKUP_ID_PATTERN,
    ),
    "status": Field("string", "Only backups with this status.", choices=tuple(str(s) for s in BackupStatus)),
    "source": Field("string", "Only backups from this source.", choices=tuple(str(s) for s in BackupSource)),
    "protected": Field("boolean", "Only protected (true) or unprotected (false) backups."),
    "limit": Field("integer", "Page size (default 50).", minimum=1, maximum=1000),
    "cursor": Field("string", "`next_cursor` of the previous page.", max_length=1000),
}
ENDPOINT = Endpoint(
    name="list_backups",
    permission="backups.view",
    summary="List backups, or show one",
    methods={"GET": _FIELDS, "POST": _FIELDS},
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    records = RecordService(call.runtime.context)
    params = call.params
    if "id" in params:
        others = sorted(set(params) - {"id"})
        if others:
            raise RequestValidationError({name: "not allowed together with id" for name in others})
        return json_response({"backup": records.show(params["id"]).to_dict()})
    protected = params.get("protected")
    filter = BackupFilter(
        status=BackupStatus(params["status"]) if "status" in params else None,
        source=BackupSource(params["source"]) if "source" in params else None,
        is_protected=protected,
    )
    page = records.list(filter, params.get("limit", 50), params.get("cursor"))
    return json_response({"backups": [b.to_dict() for b in page.backups], "next_cursor": page.next_cursor})
