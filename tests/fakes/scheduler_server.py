"""A local Cloud Scheduler v1 REST server (get, patch, pause, resume, create) for the real client,
with injected failures."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.local_server import LocalFake

_JOB = re.compile(r"^/v1/(?P<name>projects/[^/]+/locations/[^/]+/jobs/[^/:]+)(?::(?P<verb>pause|resume))?$")
_JOBS = re.compile(r"^/v1/(?P<parent>projects/[^/]+/locations/[^/]+)/jobs$")


@dataclass
class RecordedCall:
    method: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any] | None


class FakeCloudScheduler(LocalFake):
    """Jobs by full name. `fail(verb, status)` makes the next call of `verb` (get, patch, pause, resume)
    answer `status` with a Google error body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.calls: list[RecordedCall] = []
        self._failures: dict[str, list[int]] = {}
        self._serve(self._handler(), "fake-scheduler")

    @property
    def endpoint(self) -> str:
        return self.origin

    def put_job(
        self, name: str, schedule: str = "0 2 * * *", time_zone: str = "UTC", paused: bool = True
    ) -> None:
        with self._lock:
            self.jobs[name] = {
                "name": name,
                "schedule": schedule,
                "timeZone": time_zone,
                "state": "PAUSED" if paused else "ENABLED",
                "httpTarget": {"uri": "https://example.invalid/scheduled_backup", "httpMethod": "POST"},
            }
            self._failures.clear()
            self.calls.clear()

    def job(self, name: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.jobs[name])

    def fail(self, verb: str, status: int = 503) -> None:
        with self._lock:
            self._failures.setdefault(verb, []).append(status)

    # --- the wire -----------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        with self._lock:
            self.calls.append(RecordedCall(method, path, query, body if isinstance(body, dict) else None))
            single, many = _JOB.match(path), _JOBS.match(path)
            if many and method == "POST":
                created = dict(body)
                self.jobs[created["name"]] = created
                return 200, created
            if not single:
                return _error(404, f"unknown path {path}")
            name, verb = single["name"], single["verb"]
            kind = verb or {"GET": "get", "PATCH": "patch", "DELETE": "delete"}.get(method, "?")
            queued = self._failures.get(kind)
            if queued:
                return _error(queued.pop(0), f"injected failure of {kind}")
            job = self.jobs.get(name)
            if job is None:
                return _error(404, f"Job not found: {name}")
            if kind == "get":
                return 200, job
            if kind == "patch":
                if not isinstance(body, dict) or ("name" in body and body["name"] != name):
                    return _error(400, "the body names another job")
                mask = query.get("updateMask", [""])[0].split(",")
                for field in filter(None, mask):
                    if field not in {"schedule", "timeZone"}:
                        return _error(400, f"field {field} cannot be updated here")
                    job[field] = body[field]
                return 200, job
            if kind in ("pause", "resume"):
                job["state"] = "PAUSED" if kind == "pause" else "ENABLED"
                return 200, job
            if kind == "delete":
                del self.jobs[name]
                return 200, {}
            return _error(400, f"unsupported call {method} {path}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw.strip() else None
                status, data = fake.answer(self.command, url.path, parse_qs(url.query), body)
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


def _error(code: int, message: str) -> tuple[int, dict[str, Any]]:
    status = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 503: "UNAVAILABLE"}
    return code, {"error": {"code": code, "message": message, "status": status.get(code, "UNKNOWN")}}
