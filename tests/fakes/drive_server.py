"""A local Google Drive v3 fake over TLS that google-api-python-client drives, with failure injection."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.local_server import LocalFake
from tests.fakes.tls_cert import TLSFiles, make_localhost_certificate

FOLDER_MIME_TYPE = "application/vnd.google-apps.folder"
CHUNK_GRANULARITY = 256 * 1024
DEFAULT_FIELDS = ("kind", "id", "name", "mimeType")
ACCESS_TOKEN = "fake-drive-access-token"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class FakeFile:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    content: bytes = b""
    trashed: bool = False

    def resource(self, checksums: ChecksumReporting) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents),
            "trashed": self.trashed,
        }
        if self.mime_type != FOLDER_MIME_TYPE:
            resource["size"] = str(len(self.content))
            resource["md5Checksum"] = hashlib.md5(self.content, usedforsecurity=False).hexdigest()
            resource["sha256Checksum"] = hashlib.sha256(self.content).hexdigest()
            if checksums.wrong_md5:
                resource["md5Checksum"] = "0" * 32
            if checksums.wrong_sha256:
                resource["sha256Checksum"] = "0" * 64
            if checksums.omit_sha256:
                del resource["sha256Checksum"]
        return resource


@dataclass
class ChecksumReporting:
    wrong_sha256: bool = False
    wrong_md5: bool = False
    omit_sha256: bool = False


@dataclass
class UploadSession:
    metadata: dict[str, Any]
    received: bytearray = field(default_factory=bytearray)
    total: int | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    query: dict[str, str]
    content_range: str | None
    range: str | None
    body_length: int
    answer: int | None
    """The status answered, or None when the connection was dropped."""

    @property
    def is_upload_chunk(self) -> bool:
        return self.method == "PUT" and self.body_length > 0


@dataclass
class FailurePlan:
    """What to break, set by the test. Chunk numbers count data-carrying PUTs to sessions, from 1."""

    chunk_statuses: dict[int, int] = field(default_factory=dict)
    dropped_chunks: dict[int, bool] = field(default_factory=dict)
    """chunk number -> whether its bytes are kept before the connection is dropped."""
    rate_limited_requests: int = 0
    kept_of_chunks: dict[int, int] = field(default_factory=dict)
    """chunk number -> how many of its bytes the session keeps (a 308 says so), as Drive may keep less."""
    rate_limited_after_drop: int = 0
    """Requests rate limited once a dropped chunk has been handled: Drive out of reach just after it."""
    rate_limit_reason: str = "rateLimitExceeded"
    storage_quota_exceeded: bool = False
    refresh_token_revoked: bool = False
    checksums: ChecksumReporting = field(default_factory=ChecksumReporting)


class DriveFake(LocalFake):
    """Drive v3 on https://127.0.0.1:PORT/drive/v3/, files in memory, plus an OAuth token endpoint."""

    def __init__(self, directory: Path, refresh_token: str = "fake-refresh-token") -> None:
        self.tls: TLSFiles = make_localhost_certificate(directory)
        self.refresh_token = refresh_token
        self.failures = FailurePlan()
        self.files: dict[str, FakeFile] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.requests: list[SeenRequest] = []
        self.chunks_seen = 0
        self.lock = threading.RLock()
        self._serve(_handler_for(self), "drive-fake", self.tls)

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def api_endpoint(self) -> str:
        return f"{self.base_url}/drive/v3/"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    def reset(self) -> None:
        with self.lock:
            self.failures = FailurePlan()
            self.files.clear()
            self.sessions.clear()
            self.requests.clear()
            self.chunks_seen = 0

    def add_folder(self, name: str = "backups", parent: str = "root") -> str:
        return self.add_file(name, b"", parent, FOLDER_MIME_TYPE)

    def add_file(
        self, name: str, content: bytes, parent: str, mime_type: str = "application/octet-stream"
    ) -> str:
        with self.lock:
            file_id = uuid.uuid4().hex
            self.files[file_id] = FakeFile(file_id, name, mime_type, [parent], content)
            return file_id

    def files_in(self, folder_id: str) -> list[FakeFile]:
        with self.lock:
            return [item for item in self.files.values() if folder_id in item.parents]

    def upload_chunks(self) -> list[SeenRequest]:
        with self.lock:
            return [seen for seen in self.requests if seen.is_upload_chunk]


def _handler_for(fake: DriveFake) -> type[BaseHTTPRequestHandler]:
    class Handler(DriveRequestHandler):
        drive = fake

    return Handler


class Dropped(Exception):
    """Close the connection without answering."""


class DriveRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    drive: DriveFake

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer: int | None = None
        try:
            with self.drive.lock:
                status, headers, payload = self._route(url.path, query, body)
            answer = status
            self._answer(status, headers, payload)
        except Dropped:
            self.close_connection = True
        finally:
            with self.drive.lock:
                self.drive.requests.append(
                    SeenRequest(
                        self.command,
                        url.path,
                        query,
                        self.headers.get("Content-Range"),
                        self.headers.get("Range"),
                        len(body),
                        answer,
                    )
                )

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _route(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        drive = self.drive
        if path == "/token":
            return self._token(body)
        if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return _error(401, "authError", "Request had invalid authentication credentials.")
        failures = drive.failures
        is_chunk = self.command == "PUT" and "upload_id" in query and len(body) > 0
        if is_chunk:
            drive.chunks_seen += 1
            number = drive.chunks_seen
            if number in failures.dropped_chunks:
                keep = failures.dropped_chunks.pop(number)
                if keep:
                    self._put_chunk(query, body)
                failures.rate_limited_requests += failures.rate_limited_after_drop
                failures.rate_limited_after_drop = 0
                raise Dropped()
            if number in failures.chunk_statuses:
                status = failures.chunk_statuses.pop(number)
                return _error(status, "backendError", "Backend Error")
            if number in failures.kept_of_chunks:
                return self._keep_part_of_chunk(query, body, failures.kept_of_chunks.pop(number))
        if failures.rate_limited_requests > 0:
            failures.rate_limited_requests -= 1
            return _error(403, failures.rate_limit_reason, "Rate Limit Exceeded")
        match self.command, path:
            case "GET", "/drive/v3/files":
                return self._list(query)
            case "GET", _ if path.startswith("/drive/v3/files/"):
                return self._get(path.removeprefix("/drive/v3/files/"), query)
            case "DELETE", _ if path.startswith("/drive/v3/files/"):
                return self._delete(path.removeprefix("/drive/v3/files/"))
            case "POST", "/drive/v3/files":
                return self._create(json.loads(body or b"{}"), b"", query)
            case "POST", "/upload/drive/v3/files":
                return self._start_upload(query, body)
            case "PUT", "/upload/drive/v3/files" if "upload_id" in query:
                return self._put_chunk(query, body)
            case "DELETE", "/upload/drive/v3/files" if "upload_id" in query:
                drive.sessions.pop(query["upload_id"], None)
                return 499, {}, b""
        return _error(404, "notFound", f"No route for {self.command} {path}")

    def _token(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        form = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
        if form.get("grant_type") == JWT_BEARER_GRANT and form.get("assertion"):
            granted = {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
            return 200, {"Content-Type": "application/json"}, json.dumps(granted).encode()
        if self.drive.failures.refresh_token_revoked or form.get("refresh_token") != self.drive.refresh_token:
            payload = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return 400, {"Content-Type": "application/json"}, json.dumps(payload).encode()
        granted = {"access_token": ACCESS_TOKEN, "expires_in": 3600, "token_type": "Bearer"}
        return 200, {"Content-Type": "application/json"}, json.dumps(granted).encode()

    def _resource(self, item: FakeFile, fields: str | None) -> dict[str, Any]:
        return _select(item.resource(self.drive.failures.checksums), fields)

    def _get(self, file_id: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        item = self.drive.files.get(file_id)
        if item is None:
            return _error(404, "notFound", f"File not found: {file_id}.")
        if query.get("alt") != "media":
            return _json(200, self._resource(item, query.get("fields")))
        content = item.content
        requested = self.headers.get("Range")
        if not requested:
            return 200, {"Content-Type": item.mime_type}, content
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", requested)
        if match is None:
            return _error(400, "badRequest", f"Bad Range {requested}")
        start = int(match.group(1))
        if start >= len(content):
            return 416, {"Content-Range": f"bytes */{len(content)}"}, b""
        end = min(int(match.group(2)) if match.group(2) else len(content) - 1, len(content) - 1)
        headers = {"Content-Range": f"bytes {start}-{end}/{len(content)}", "Content-Type": item.mime_type}
        return 206, headers, content[start : end + 1]

    def _list(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        matches = [item for item in self.drive.files.values() if _matches(item, query.get("q", ""))]
        offset = int(query.get("pageToken") or 0)
        size = int(query.get("pageSize") or 100)
        page = matches[offset : offset + size]
        fields = query.get("fields") or "nextPageToken,files(id,name,mimeType,kind)"
        inner = re.search(r"files\(([^)]*)\)", fields)
        wanted = inner.group(1) if inner else None
        result: dict[str, Any] = {"files": [self._resource(item, wanted) for item in page]}
        if offset + size < len(matches):
            result["nextPageToken"] = str(offset + size)
        return _json(200, result)

    def _delete(self, file_id: str) -> tuple[int, dict[str, str], bytes]:
        if self.drive.files.pop(file_id, None) is None:
            return _error(404, "notFound", f"File not found: {file_id}.")
        return 204, {}, b""

    def _create(
        self, metadata: dict[str, Any], content: bytes, query: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        refusal = self._refuse_create(metadata)
        if refusal is not None:
            return refusal
        item = FakeFile(
            uuid.uuid4().hex,
            str(metadata.get("name", "Untitled")),
            str(metadata.get("mimeType", "application/octet-stream")),
            list(metadata.get("parents") or ["root"]),
            content,
        )
        self.drive.files[item.id] = item
        return _json(200, self._resource(item, query.get("fields")))

    def _refuse_create(self, metadata: dict[str, Any]) -> tuple[int, dict[str, str], bytes] | None:
        for parent in metadata.get("parents") or []:
            folder = self.drive.files.get(parent)
            if folder is None or folder.mime_type != FOLDER_MIME_TYPE:
                return _error(404, "notFound", f"File not found: {parent}.")
        if self.drive.failures.storage_quota_exceeded:
            return _error(403, "storageQuotaExceeded", "Service Accounts do not have storage quota.")
        return None

    def _start_upload(self, query: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        upload_type = query.get("uploadType")
        if upload_type == "multipart":
            metadata, content = _parse_multipart(self.headers.get("Content-Type", ""), body)
            return self._create(metadata, content, query)
        if upload_type != "resumable":
            return _error(400, "badRequest", f"uploadType {upload_type} is not supported by the fake")
        metadata = json.loads(body or b"{}")
        refusal = self._refuse_create(metadata)
        if refusal is not None:
            return refusal
        if "X-Upload-Content-Type" in self.headers:
            metadata.setdefault("mimeType", self.headers["X-Upload-Content-Type"])
        upload_id = uuid.uuid4().hex
        self.drive.sessions[upload_id] = UploadSession(metadata)
        session_query = urlencode({**query, "upload_id": upload_id})
        location = f"{self.drive.base_url}/upload/drive/v3/files?{session_query}"
        return 200, {"Location": location}, b""

    def _keep_part_of_chunk(
        self, query: dict[str, str], body: bytes, kept: int
    ) -> tuple[int, dict[str, str], bytes]:
        session = self.drive.sessions.get(query["upload_id"])
        if session is None:
            return _error(404, "notFound", "Upload session not found or expired.")
        held = len(session.received)
        problem = _apply_content_range(session, self.headers.get("Content-Range", ""), body)
        if problem is not None:
            return _error(400, "badRequest", problem)
        del session.received[held + kept :]
        return 308, {"Range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}, b""

    def _put_chunk(self, query: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        session = self.drive.sessions.get(query["upload_id"])
        if session is None:
            return _error(404, "notFound", "Upload session not found or expired.")
        if session.file_id is not None:
            return _json(200, self._resource(self.drive.files[session.file_id], query.get("fields")))
        content_range = self.headers.get("Content-Range")
        if content_range is None:
            session.received = bytearray(body)
            session.total = len(body)
        else:
            problem = _apply_content_range(session, content_range, body)
            if problem is not None:
                return _error(400, "badRequest", problem)
        if session.total is not None and len(session.received) == session.total:
            status, headers, payload = self._create(session.metadata, bytes(session.received), query)
            if status == 200:
                session.file_id = json.loads(payload)["id"]
            return status, headers, payload
        headers = {"Range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}
        return 308, headers, b""


def _apply_content_range(session: UploadSession, content_range: str, body: bytes) -> str | None:
    """Add a chunk (`bytes a-b/total`) or read a status query (`bytes */total`); a problem or None."""
    match = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", content_range.strip())
    if match is None:
        return f"Malformed Content-Range: {content_range}"
    if match.group(3) != "*":
        session.total = int(match.group(3))
    if match.group(1) is None:
        return None if not body else "a status query must have an empty body"
    start, end = int(match.group(1)), int(match.group(2))
    if end - start + 1 != len(body):
        return f"Content-Range {content_range} does not match the {len(body)} bytes sent"
    if start > len(session.received):
        return f"Content-Range starts at {start}, but the session holds only {len(session.received)} bytes"
    is_last = session.total is not None and end + 1 == session.total
    if not is_last and len(body) % CHUNK_GRANULARITY:
        return f"a chunk other than the last must be a multiple of 256 KiB, not {len(body)} bytes"
    session.received[start:] = body
    return None


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = [part.get_payload(decode=True) for part in message.iter_parts()]
    metadata = json.loads(parts[0] if isinstance(parts[0], bytes) and parts[0] else b"{}")
    content = parts[1] if len(parts) > 1 and isinstance(parts[1], bytes) else b""
    return metadata, content


def _matches(item: FakeFile, q: str) -> bool:
    """Evaluate the `and`-joined clauses of a Drive query that the service uses."""
    for clause in filter(None, (part.strip() for part in re.split(r"\s+and\s+", q))):
        if match := re.fullmatch(r"'([^']*)' in parents", clause):
            ok = match.group(1) in item.parents
        elif match := re.fullmatch(r"name\s*=\s*'((?:[^'\\]|\\.)*)'", clause):
            ok = item.name == match.group(1).replace("\\'", "'")
        elif match := re.fullmatch(r"mimeType\s*(!?=)\s*'([^']*)'", clause):
            ok = (item.mime_type == match.group(2)) == (match.group(1) == "=")
        elif match := re.fullmatch(r"trashed\s*=\s*(true|false)", clause):
            ok = item.trashed == (match.group(1) == "true")
        else:
            raise ValueError(f"the Drive fake does not understand the query clause {clause!r}")
        if not ok:
            return False
    return True


def _select(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Keep only the top-level `fields` (Drive v3 answers kind, id, name, mimeType by default)."""
    if fields == "*":
        return resource
    if not fields:
        return {name: resource[name] for name in DEFAULT_FIELDS if name in resource}
    wanted = [name.strip().split("/")[0].split("(")[0] for name in fields.split(",")]
    return {name: resource[name] for name in wanted if name in resource}


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(payload).encode()


def _error(status: int, reason: str, message: str) -> tuple[int, dict[str, str], bytes]:
    domain = "usageLimits" if "Limit" in reason or "Quota" in reason else "global"
    detail = {"domain": domain, "reason": reason, "message": message}
    return _json(status, {"error": {"code": status, "message": message, "errors": [detail]}})
