"""A local Secret Manager v1 REST server (access, addVersion) for the real client, with injected faults."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import google_crc32c

from tests.fakes.local_server import LocalFake

_ACCESS = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/secrets/(?P<secret>[^/]+)/versions/(?P<version>[^/:]+):access$"
)
_ADD_VERSION = re.compile(r"^/v1/projects/(?P<project>[^/]+)/secrets/(?P<secret>[^/:]+):addVersion$")


@dataclass
class RecordedRequest:
    method: str
    path: str
    authorization: str | None
    body: dict[str, Any] | None = None


@dataclass
class _Secret:
    versions: list[bytes] = field(default_factory=list)


class FakeSecretManager(LocalFake):
    """Holds secrets per project; `deny`, `corrupt_checksum` inject PermissionDenied and a wrong CRC32C."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: dict[tuple[str, str], _Secret] = {}
        self._denied: set[tuple[str, str]] = set()
        self._corrupted: set[tuple[str, str]] = set()
        self.requests: list[RecordedRequest] = []
        self._serve(_handler_for(self), "fake-secret-manager")

    @property
    def endpoint(self) -> str:
        return self.origin

    # --- state, as the tests see it -------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._secrets.clear()
            self._denied.clear()
            self._corrupted.clear()
            self.requests.clear()

    def create_secret(self, project: str, secret: str) -> None:
        with self._lock:
            self._secrets.setdefault((project, secret), _Secret())

    def put(self, project: str, secret: str, value: bytes | str) -> int:
        """Create the secret if needed and add a version; returns the version number."""
        data = value.encode() if isinstance(value, str) else value
        with self._lock:
            versions = self._secrets.setdefault((project, secret), _Secret()).versions
            versions.append(data)
            return len(versions)

    def versions(self, project: str, secret: str) -> list[bytes]:
        with self._lock:
            return list(self._secrets[(project, secret)].versions)

    def deny(self, project: str, secret: str) -> None:
        with self._lock:
            self._denied.add((project, secret))

    def corrupt_checksum(self, project: str, secret: str) -> None:
        with self._lock:
            self._corrupted.add((project, secret))

    # --- the protocol ----------------------------------------------------------------------------

    def access(self, project: str, secret: str, version: str) -> tuple[int, dict[str, Any]]:
        resource = f"projects/{project}/secrets/{secret}/versions/{version}"
        with self._lock:
            if (project, secret) in self._denied:
                return _error(
                    HTTPStatus.FORBIDDEN,
                    f"Permission 'secretmanager.versions.access' denied for resource '{resource}' "
                    "(or it may not exist).",
                )
            stored = self._secrets.get((project, secret))
            if stored is None or not stored.versions:
                return _error(
                    HTTPStatus.NOT_FOUND,
                    f"Secret [projects/{project}/secrets/{secret}] not found or has no versions.",
                )
            number = len(stored.versions) if version == "latest" else int(version) if version.isdigit() else 0
            if not 1 <= number <= len(stored.versions):
                return _error(HTTPStatus.NOT_FOUND, f"Secret Version [{resource}] not found.")
            data = stored.versions[number - 1]
            checksum = google_crc32c.value(data)
            if (project, secret) in self._corrupted:
                checksum ^= 0x1
        return HTTPStatus.OK, {
            "name": f"projects/{project}/secrets/{secret}/versions/{number}",
            "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(checksum)},
        }

    def add_version(self, project: str, secret: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payload = body.get("payload") or {}
        try:
            data = _decode_bytes(str(payload.get("data", "")))
        except (binascii.Error, ValueError):
            return _error(HTTPStatus.BAD_REQUEST, "Invalid value at 'payload.data' (TYPE_BYTES)")
        with self._lock:
            if (project, secret) in self._denied:
                return _error(
                    HTTPStatus.FORBIDDEN,
                    f"Permission 'secretmanager.versions.add' denied for resource "
                    f"'projects/{project}/secrets/{secret}' "
                    "(or it may not exist).",
                )
            stored = self._secrets.get((project, secret))
            if stored is None:
                return _error(
                    HTTPStatus.NOT_FOUND, f"Secret [projects/{project}/secrets/{secret}] not found."
                )
            if "dataCrc32c" in payload and int(payload["dataCrc32c"]) != google_crc32c.value(data):
                return _error(
                    HTTPStatus.BAD_REQUEST, "Checksum mismatch: data_crc32c does not match the data."
                )
            stored.versions.append(data)
            number = len(stored.versions)
        return HTTPStatus.OK, {
            "name": f"projects/{project}/secrets/{secret}/versions/{number}",
            "createTime": "2026-01-01T00:00:00Z",
            "state": "ENABLED",
            "clientSpecifiedPayloadChecksum": "dataCrc32c" in payload,
        }


def _decode_bytes(text: str) -> bytes:
    """Protobuf JSON accepts standard and URL-safe base64 for bytes fields."""
    altchars = b"-_" if "-" in text or "_" in text else None
    return base64.b64decode(text, altchars=altchars, validate=True)


def _error(status: HTTPStatus, message: str) -> tuple[int, dict[str, Any]]:
    """Google's JSON error shape."""
    names = {
        HTTPStatus.BAD_REQUEST: "INVALID_ARGUMENT",
        HTTPStatus.FORBIDDEN: "PERMISSION_DENIED",
        HTTPStatus.NOT_FOUND: "NOT_FOUND",
    }
    return status, {
        "error": {"code": int(status), "message": message, "status": names.get(status, "UNKNOWN")}
    }


def _handler_for(fake: FakeSecretManager) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            encoded = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def _record(self, body: dict[str, Any] | None = None) -> str:
            path = urlsplit(self.path).path
            fake.requests.append(RecordedRequest(self.command, path, self.headers.get("Authorization"), body))
            return path

        def do_GET(self) -> None:
            match = _ACCESS.match(self._record())
            if match is None:
                self._answer(*_error(HTTPStatus.NOT_FOUND, f"no such method: GET {self.path}"))
                return
            self._answer(*fake.access(match["project"], match["secret"], match["version"]))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._record()
                self._answer(*_error(HTTPStatus.BAD_REQUEST, "request body is not JSON"))
                return
            match = _ADD_VERSION.match(self._record(body))
            if match is None:
                self._answer(*_error(HTTPStatus.NOT_FOUND, f"no such method: POST {self.path}"))
                return
            self._answer(*fake.add_version(match["project"], match["secret"], body))

    return Handler
