"""The request pipeline every function shares: method → token → permission → validation → core → JSON.

Errors become status codes here: 400 (bad input, with a message per field), 401, 403, 404, 405, 409
(busy), 415 (a body not declared as JSON), 500 (a failed operation: its own message, redacted; anything
unexpected: a reference only), 503 (something the call needs, e.g. Google's token-signing certificates, is
unreachable right now; with `Retry-After`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import flask

from functions import runtime
from functions.validation import (
    MAX_BODY_BYTES,
    Fields,
    RequestValidationError,
    UnsupportedMediaTypeError,
    body_too_large,
    has_body,
    parse_body,
    parse_query,
)
from shared.auth.errors import AuthenticationError, PermissionDeniedError
from shared.auth.tokens import Caller
from shared.errors import (
    BackupServiceError,
    BusyError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
)
from shared.redaction import redact
from shared.settings_rules import SettingsValidationError

_log = logging.getLogger("backup.functions")


@dataclass(frozen=True)
class Endpoint:
    """One function: its name (target and path), permission, and the fields each method accepts
    (GET: query parameters; POST, PUT: JSON body)."""

    name: str
    permission: str
    summary: str
    methods: Mapping[str, Fields]
    headers: Mapping[str, str] = field(default_factory=dict)
    """Request headers it reads, with their meaning (documented in the OpenAPI file)."""


@dataclass(frozen=True)
class Call:
    """What a handler gets: the admitted caller, the validated parameters, the request, the runtime."""

    caller: Caller
    params: dict[str, Any]
    request: flask.Request
    runtime: runtime.Runtime

    @property
    def actor(self) -> str:
        return self.caller.email


Handler = Callable[[Call], flask.Response]


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> flask.Response:
    response = flask.Response(_json_bytes(data), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _json_bytes(data: Any) -> bytes:
    try:
        return (json.dumps(data, default=str, ensure_ascii=False) + "\n").encode()
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8, but as a \uXXXX escape it is still valid JSON.
        return (json.dumps(data, default=str) + "\n").encode()


def error_response(message: str, status: int, fields: Mapping[str, str] | None = None) -> flask.Response:
    data: dict[str, Any] = {"error": message}
    if fields:
        data["fields"] = dict(fields)
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return json_response(data, status, headers)


def serve(request: flask.Request, endpoint: Endpoint, handler: Handler) -> flask.Response:
    """Run one call through the whole pipeline; never raises."""
    if request.method not in endpoint.methods:
        response = error_response(f"method {request.method} not allowed", 405)
        response.headers["Allow"] = ", ".join(endpoint.methods)
        return response
    try:
        current = runtime.current()
    except Exception:
        reference = uuid.uuid4().hex[:12]
        _log.exception(
            "%s cannot start: its configuration is unusable (reference %s)", endpoint.name, reference
        )
        return error_response(f"the service is misconfigured; its log says why (reference {reference})", 500)
    try:
        caller = current.guard.admit(request.headers.get("Authorization"), endpoint.permission, endpoint.name)
        params = _params(request, endpoint.methods[request.method])
        return handler(Call(caller, params, request, current))
    except Exception as exc:
        return response_for_error(exc, endpoint.name)


def unavailable_response(exc: ServiceUnavailableError, operation: str) -> flask.Response:
    message = redact(str(exc))
    _log.error("%s could not be served (503): %s", operation, message)
    response = error_response(message, 503)
    if exc.retry_after_seconds is not None:
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


def _params(request: flask.Request, fields: Fields) -> dict[str, Any]:
    raw = _body_up_to_the_limit(request)
    if request.method == "GET":
        if has_body(raw):
            raise RequestValidationError(
                {"body": "not accepted on GET; send the parameters in the query string"},
                "a GET request takes no body",
            )
        repeated = {name for name in request.args if len(request.args.getlist(name)) > 1}
        return parse_query(request.args.to_dict(), fields, repeated)
    if request.args:
        raise RequestValidationError(
            {name: "not accepted in the query string; send it in the JSON body" for name in request.args}
        )
    return parse_body(raw, fields, request.headers.get("Content-Type", ""))


def _body_up_to_the_limit(request: flask.Request) -> bytes:
    """The body, read no further than one byte past `MAX_BODY_BYTES` (which `parse_body` refuses)."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise body_too_large()
    return request.stream.read(MAX_BODY_BYTES + 1)


def response_for_error(exc: Exception, operation: str) -> flask.Response:
    if isinstance(exc, AuthenticationError):
        return error_response("authentication required: send a valid Google ID token", 401)
    if isinstance(exc, PermissionDeniedError):
        explained = f"permission denied: {exc.explanation}" if exc.explanation else "permission denied"
        return error_response(explained, 403)
    if isinstance(exc, UnsupportedMediaTypeError):
        return error_response(str(exc), 415, exc.errors)
    if isinstance(exc, RequestValidationError):
        return error_response(str(exc), 400, exc.errors)
    if isinstance(exc, SettingsValidationError):
        return error_response("invalid settings", 400, exc.errors)
    if isinstance(exc, InvalidInputError):
        return error_response(redact(str(exc)), 400)
    if isinstance(exc, NotFoundError):
        return error_response(redact(str(exc)), 404)
    if isinstance(exc, BusyError):
        return error_response(redact(str(exc)), 409)
    if isinstance(exc, ServiceUnavailableError):
        return unavailable_response(exc, operation)
    reference = uuid.uuid4().hex[:12]
    if isinstance(exc, BackupServiceError):
        _log.error("%s failed (reference %s): %s", operation, reference, redact(str(exc)))
        return error_response(f"{redact(str(exc))} (reference {reference})", 500)
    _log.error("%s failed unexpectedly (reference %s)", operation, reference, exc_info=exc)
    return error_response(f"internal error; the function's log has the details (reference {reference})", 500)
