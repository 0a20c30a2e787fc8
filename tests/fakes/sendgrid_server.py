"""A local SendGrid v3 `mail/send` server: records each mail; refusals (with any body), slow answers can be
injected."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.local_server import LocalFake


@dataclass(frozen=True)
class RecordedMail:
    body: dict[str, Any]
    authorization: str | None

    @property
    def recipients(self) -> list[str]:
        return [to["email"] for p in self.body["personalizations"] for to in p["to"]]

    def content(self, mime_type: str) -> str:
        return next(str(c["value"]) for c in self.body["content"] if c["type"] == mime_type)


def _errors(*messages: str, field: str | None = None) -> dict[str, Any]:
    return {"errors": [{"message": m, "field": field, "help": None} for m in messages]}


def validation_errors(body: Any) -> list[str]:
    """The checks SendGrid makes on a mail/send body that matter here."""
    if not isinstance(body, dict):
        return ["The request body must be a JSON object."]
    problems: list[str] = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append("The personalizations field is required and must have at least one personalization.")
    elif any(
        not p.get("to") or any("@" not in str(t.get("email", "")) for t in p["to"]) for p in personalizations
    ):
        problems.append("Each personalization needs a 'to' array of valid email addresses.")
    if "@" not in str((body.get("from") or {}).get("email", "")):
        problems.append("The from object must be provided for every email send.")
    if not body.get("subject") and not all(p.get("subject") for p in personalizations or []):
        problems.append("The subject is required.")
    content = body.get("content")
    if (
        not isinstance(content, list)
        or not content
        or any(not c.get("type") or not c.get("value") for c in content)
    ):
        problems.append("The content value must be a string at least one character in length.")
    return problems


class FakeSendGrid(LocalFake):
    """Accepts mail for `api_key`; `fail_next(status, body=...)` and `delay_next(seconds)` inject faults."""

    def __init__(self, api_key: str = "SG.fake-key-for-tests.0123456789abcdef") -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self.mails: list[RecordedMail] = []
        self.attempts: list[RecordedMail] = []
        self._failures: list[tuple[int, Any]] = []
        self._delays: list[float] = []
        self._stopping = threading.Event()
        self._serve(_handler_for(self), "fake-sendgrid")

    @property
    def host(self) -> str:
        return self.origin

    def stop(self) -> None:
        self._stopping.set()
        super().stop()

    def reset(self) -> None:
        with self._lock:
            self.mails.clear()
            self.attempts.clear()
            self._failures.clear()
            self._delays.clear()

    def fail_next(self, status: int, times: int = 1, body: Any = None) -> None:
        """`body`: what the refusal carries, as JSON (or as is, for bytes); None: SendGrid's own errors."""
        with self._lock:
            self._failures.extend([(status, body)] * times)

    def delay_next(self, seconds: float) -> None:
        with self._lock:
            self._delays.append(seconds)

    def receive(self, raw: bytes, authorization: str | None) -> tuple[int, Any]:
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return HTTPStatus.BAD_REQUEST, _errors("The request body must be valid JSON.")
        attempt = RecordedMail(body, authorization)
        with self._lock:
            self.attempts.append(attempt)
            delay = self._delays.pop(0) if self._delays else 0.0
            failure = self._failures.pop(0) if self._failures else None
        if delay:
            self._stopping.wait(delay)
        if authorization != f"Bearer {self.api_key}":
            return HTTPStatus.UNAUTHORIZED, _errors(
                "The provided authorization grant is invalid, expired, or revoked"
            )
        if failure is not None:
            status, body = failure
            if body is None:
                body = _errors("Internal server error" if status >= 500 else "Request rejected")
            return status, body
        problems = validation_errors(body)
        if problems:
            return HTTPStatus.BAD_REQUEST, _errors(*problems)
        with self._lock:
            self.mails.append(attempt)
        return HTTPStatus.ACCEPTED, None


def _encoded(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body).encode() if body is not None else b""


def _handler_for(fake: FakeSendGrid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            status: int
            body: Any
            if urlsplit(self.path).path != "/v3/mail/send":
                status, body = int(HTTPStatus.NOT_FOUND), _errors(f"no route for POST {self.path}")
            else:
                status, body = fake.receive(raw, self.headers.get("Authorization"))
            encoded = _encoded(body)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(encoded)))
                if encoded:
                    self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(encoded)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
