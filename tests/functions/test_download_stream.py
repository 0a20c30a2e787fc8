"""download_backup over a real HTTP connection: the file is streamed with chunked transfer encoding (Cloud
Run refuses a non-streamed response of more than 32 MiB), and a damaged file breaks the stream, so that an
HTTP client reports an error instead of saving a short or corrupt file."""

from __future__ import annotations

import hashlib
import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import functions_framework
import pytest
from werkzeug.serving import make_server

from tests.functions.conftest import ROOT, Api


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


def test_a_damaged_file_breaks_the_stream_instead_of_ending_it(api: Api) -> None:
    backup = _made(api)
    stored = api.runtime.config.local_backup_dir / str(backup["filename"])
    damaged = bytearray(stored.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    with served("download_backup") as port:
        answer = _get(api, port, str(backup["id"]))
        assert answer.status == 200  # the damage shows only at the end, when the checksum is known
        with pytest.raises(http.client.IncompleteRead):
            answer.read()
