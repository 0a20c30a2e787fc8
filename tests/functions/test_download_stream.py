"""download_backup over a real HTTP connection: the file is streamed with chunked transfer encoding (Cloud
Run refuses a non-streamed response of more than 32 MiB), and a damaged file breaks the stream, so that an
HTTP client reports an error instead of saving a short or corrupt file."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import functions_framework
import pytest
from werkzeug.serving import make_server

from shared.models import AuditAction
from tests.functions.conftest import ROOT, Api
from tests.sample_data import add_incompressible_rows


@contextmanager
def served(target: str) -> Iterator[int]:
    app = functions_framework.create_app(target=target, source=str(ROOT / "main.py"))  # type: ignore[no-untyped-call]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        worker.join(10)


def _get(api: Api, port: int, backup_id: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {api.token()}"}
    connection.request("GET", f"/download_backup?id={backup_id}", headers=headers)
    return connection.getresponse()


def _downloads(api: Api) -> list[dict[str, object]]:
    """The details of the download entries, oldest first."""
    return [log.details for log in reversed(api.logs()) if log.action is AuditAction.DOWNLOAD]


def _made(api: Api) -> dict[str, object]:
    created = api.call("create_backup")
    assert created.status_code == 201, created.get_json()
    backup: dict[str, object] = created.get_json()["backup"]
    return backup


def test_a_download_is_streamed_in_chunks_with_its_size_and_checksum(api: Api) -> None:
    backup = _made(api)
    with served("download_backup") as port:
        answer = _get(api, port, str(backup["id"]))
        body = answer.read()
    assert answer.status == 200
    assert answer.getheader("Transfer-Encoding") == "chunked" and answer.getheader("Content-Length") is None
    assert int(answer.getheader("X-Backup-Size") or -1) == backup["file_size"] == len(body)
    assert hashlib.sha256(body).hexdigest() == answer.getheader("X-Backup-SHA256") == backup["sha256"]
    assert _downloads(api) == [
        {"outcome": "started", "file_size": backup["file_size"]},
        {"outcome": "completed", "bytes_sent": len(body)},
    ]


def _damage(api: Api, backup: dict[str, object]) -> None:
    """Flip a byte in the middle: the size stays, the checksum does not."""
    stored = api.runtime.config.local_backup_dir / str(backup["filename"])
    damaged = bytearray(stored.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    stored.write_bytes(bytes(damaged))


def test_a_damaged_file_of_one_chunk_is_an_error_response(api: Api) -> None:
    backup = _made(api)
    _damage(api, backup)
    with served("download_backup") as port:
        answer = _get(api, port, str(backup["id"]))
        error = json.loads(answer.read())["error"]
    assert answer.status == 500
    assert f"the stored file of backup {backup['id']} is damaged" in error
    [entry] = _downloads(api)  # no bytes were sent, so it never started
    assert entry["outcome"] == "failed" and entry["bytes_sent"] == 0
    assert f"the stored file of backup {backup['id']} is damaged" in str(entry["error"])


def test_a_damaged_file_of_many_chunks_breaks_the_stream_short_of_its_size(api: Api) -> None:
    add_incompressible_rows(api.database)
    backup = _made(api)
    assert int(str(backup["file_size"])) > 2 << 20  # read in several chunks
    _damage(api, backup)
    with served("download_backup") as port:
        answer = _get(api, port, str(backup["id"]))
        assert answer.status == 200  # the damage shows only at the end, when the checksum is known
        with pytest.raises(http.client.IncompleteRead) as broken:
            answer.read()
    # and short of its size: the chunk that would complete it is never sent
    assert len(broken.value.partial) < int(answer.getheader("X-Backup-Size") or 0)
    started, failed = _downloads(api)
    assert started["outcome"] == "started"
    assert failed["outcome"] == "failed" and "is damaged" in str(failed["error"])
    assert 0 < int(str(failed["bytes_sent"])) < int(str(backup["file_size"]))
