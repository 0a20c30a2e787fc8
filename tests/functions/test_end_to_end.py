"""One real `functions-framework --target list_backups` process, configured by environment variables,
called over HTTP with a signed ID token."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shared.dburl import DatabaseURL
from tests.fakes.certs_server import CertsServer
from tests.functions.conftest import ALL_PERMISSIONS, AUDIENCE, OPERATOR, ROOT, database_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str, token: str | None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _server_env(tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "BACKUP_HOME": str(tmp_path / "home"),
        "BACKUP_DATABASE_URL": database_env(mysql_db),
        "BACKUP_AUTH_AUDIENCE": AUDIENCE,
        "BACKUP_AUTH_CERTS_URL": certs.url,
        "BACKUP_PERMISSIONS": json.dumps(ALL_PERMISSIONS),
    }


@contextmanager
def _running(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _first_answer(process: subprocess.Popen[bytes], url: str, token: str) -> tuple[int, Any]:
    """GET `url` as soon as the server answers (30 s at most); fails with its output if it died."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return _get(url, token)
        except (ConnectionError, urllib.error.URLError):
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, f"{url} did not answer within 30 s"
            time.sleep(0.2)


def test_functions_framework_process_serves_list_backups(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer
) -> None:
    port = _free_port()
    binary = Path(sys.executable).parent / "functions-framework"
    command = [
        str(binary),
        "--target",
        "list_backups",
        "--source",
        str(ROOT / "main.py"),
        "--port",
        str(port),
    ]
    with _running(command, _server_env(tmp_path, mysql_db, certs)) as process:
        url = f"http://127.0.0.1:{port}/"
        status, body = _first_answer(process, url, certs.mint(OPERATOR))
        assert status == 200 and body == {"backups": [], "next_cursor": None}
        assert _get(url, None)[0] == 401
        assert _get(url, certs.mint("stranger@example.com"))[0] == 403
        assert _get(url, certs.mint(OPERATOR, audience="https://other.test"))[0] == 401


def test_serve_runs_every_function_on_one_port(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer
) -> None:
    port = _free_port()
    command = [sys.executable, "main.py", "serve", "--port", str(port)]
    with _running(command, _server_env(tmp_path, mysql_db, certs)) as process:
        base = f"http://127.0.0.1:{port}"
        status, body = _first_answer(process, f"{base}/list_backups", certs.mint(OPERATOR))
        assert status == 200 and body["backups"] == []
        status, settings = _get(f"{base}/backup_settings", certs.mint(OPERATOR))
        assert status == 200 and settings["settings"]["time_zone"] == "UTC"  # type: ignore[index]
        assert _get(f"{base}/download_backup?id=nope", certs.mint(OPERATOR))[0] == 404
