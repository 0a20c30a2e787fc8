"""`download_backup`: stream a backup's file, verified against its SHA-256 (sent in `X-Backup-SHA256`).

The bytes are never held whole: the response is the storage's chunk iterator, sent with chunked transfer
encoding and no Content-Length, since Cloud Run refuses a non-streamed response of more than 32 MiB. The
size is in `X-Backup-Size`. A damaged file (or a storage that fails mid-way) ends the stream without its
final chunk, which HTTP clients report as an error, so a client never mistakes it for a complete file; and
the chunk that would complete it is never sent (`verified`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator

import flask

from functions.http import Call, Endpoint, serve
from functions.validation import backup_id_field
from shared.services.download import DownloadService

_log = logging.getLogger("backup.functions")
ENDPOINT = Endpoint(
    name="download_backup",
    permission="backups.download",
    summary="Download a backup's file",
    methods={"GET": {"id": backup_id_field("The backup to download.")}},
)


def handle(request: flask.Request) -> flask.Response:
    return serve(request, ENDPOINT, _run)


def _run(call: Call) -> flask.Response:
    downloads = DownloadService(call.runtime.context)
    backup, chunks = downloads.open(call.params["id"], call.actor)
    # Read before answering: a file that fails at once (damaged and of one chunk, a storage that cannot
    # be read) is an error response with its message, not a stream cut short.
    first = next(chunks, b"")
    body = _logged(itertools.chain([first], chunks), backup.id)
    response = flask.Response(body, status=200, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{backup.filename}"'
    response.headers["X-Backup-SHA256"] = backup.sha256 or ""
    if backup.file_size is not None:
        response.headers["X-Backup-Size"] = str(backup.file_size)
    return response


def _logged(chunks: Iterator[bytes], backup_id: str) -> Iterator[bytes]:
    try:
        yield from chunks
    except Exception:
        _log.exception("download of backup %s stopped before the end; the client got a short file", backup_id)
        raise
