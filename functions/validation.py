"""Request validation: declared fields with types, ranges and sizes; every problem named per field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.http import parse_options_header

from shared.errors import InvalidInputError

MAX_BODY_BYTES = 64 * 1024
BACKUP_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
JSON_MEDIA_TYPE = "application/json"
_UTF8_NAMES = {"utf-8", "utf8"}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PROBLEM = (
    "contains a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair), which is not text; "
    "send valid Unicode"
)


class RequestValidationError(InvalidInputError):
    """The request is unusable; `errors` maps each bad field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str], message: str = "invalid request") -> None:
        self.errors = dict(errors)
        super().__init__(message)


class UnsupportedMediaTypeError(RequestValidationError):
    """A body that is not declared as UTF-8 JSON (answered with 415)."""


@dataclass(frozen=True)
class Field:
    """One accepted field; `kind` is its OpenAPI type: string, integer, boolean or array (of strings)."""

    kind: str
    description: str
    required: bool = False
    nullable: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] | None = None
    max_items: int | None = None


Fields = Mapping[str, Field]


def parse_query(args: Mapping[str, str], fields: Fields, repeated: set[str] | None = None) -> dict[str, Any]:
    """Query parameters are text: integers and booleans are converted, then checked like a body."""
    errors: dict[str, str] = {name: "repeated; give it once" for name in repeated or set() if name in fields}
    values: dict[str, Any] = {}
    for name, text in args.items():
        field = fields.get(name)
        if field is None:
            continue
        values[name] = _from_text(text, field)
    result = _check(values, args.keys(), fields, errors)
    return result


def has_body(raw: bytes) -> bool:
    """Whether a request carries a body; whitespace alone counts as none."""
    return bool(raw.strip())


def body_too_large() -> RequestValidationError:
    return RequestValidationError({"body": f"larger than {MAX_BODY_BYTES} bytes"}, "request body too large")


def parse_body(raw: bytes, fields: Fields, content_type: str) -> dict[str, Any]:
    """A JSON object (an empty body counts as `{}`) with only the declared fields, each checked.

    A non-empty body must be declared `application/json` (a `charset` only as UTF-8)."""
    if len(raw) > MAX_BODY_BYTES:
        raise body_too_large()
    if not has_body(raw):
        return _check({}, (), fields, {})
    _require_json_media_type(content_type)
    data = _decode_json(raw)
    _refuse_lone_surrogates(data)
    if not isinstance(data, dict):
        raise RequestValidationError({"body": "must be a JSON object"}, "request body must be an object")
    return _check(data, data.keys(), fields, {})


def _require_json_media_type(content_type: str) -> None:
    media_type, options = parse_options_header(content_type)
    if media_type.lower() != JSON_MEDIA_TYPE:
        raise UnsupportedMediaTypeError(
            {"Content-Type": f"must be {JSON_MEDIA_TYPE} for a request with a body"},
            f"request body must be JSON: send it with Content-Type: {JSON_MEDIA_TYPE}",
        )
    if options.get("charset", "utf-8").lower() not in _UTF8_NAMES:
        raise UnsupportedMediaTypeError(
            {"Content-Type": f"JSON is UTF-8: send {JSON_MEDIA_TYPE} with charset=utf-8 or no charset"},
            f"request body must be UTF-8 JSON: send it with Content-Type: {JSON_MEDIA_TYPE}",
        )


def _decode_json(raw: bytes) -> Any:
    try:
        # json.loads would also take UTF-16 and UTF-32 bytes; an encoded lone surrogate is let through
        # here so that `_refuse_lone_surrogates` names its field.
        text = raw.decode("utf-8-sig", "surrogatepass")
    except UnicodeDecodeError:
        raise RequestValidationError({"body": "is not UTF-8"}, "request body must be UTF-8 JSON") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise RequestValidationError(
            {"body": "is nested too deeply"}, "request body is not usable JSON"
        ) from None
    except json.JSONDecodeError:
        raise RequestValidationError({"body": "is not valid JSON"}, "request body is not JSON") from None
    except ValueError:  # what is left: an integer literal beyond Python's digit limit
        raise RequestValidationError(
            {"body": "has a number with too many digits"}, "request body is not usable JSON"
        ) from None


def _refuse_lone_surrogates(data: Any) -> None:
    """json.loads turns an unpaired `\\udXXX` escape into a str that cannot be encoded, stored or sent
    back; each top-level field holding one is named (the body, when a field name itself holds one)."""
    if not _holds_lone_surrogate(data):
        return
    if not isinstance(data, dict):
        raise RequestValidationError({"body": _SURROGATE_PROBLEM}, "request body is not valid Unicode")
    errors: dict[str, str] = {}
    for name, value in data.items():
        if _holds_lone_surrogate(name):
            errors["body"] = "a field name " + _SURROGATE_PROBLEM
        elif _holds_lone_surrogate(value):
            errors[name] = _SURROGATE_PROBLEM
    raise RequestValidationError(errors, "request body is not valid Unicode")


def _holds_lone_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _from_text(text: str, field: Field) -> Any:
    if field.kind == "integer" and re.fullmatch(r"-?[0-9]{1,12}", text.strip()):
        return int(text)
    if field.kind == "boolean" and text.strip().lower() in {"true", "false"}:
        return text.strip().lower() == "true"
    return text


def _check(values: Mapping[str, Any], given: Any, fields: Fields, errors: dict[str, str]) -> dict[str, Any]:
    for name in given:
        if name not in fields:
            errors[name] = "unknown field" + (f"; accepted: {', '.join(sorted(fields))}" if fields else "")
    for name, field in fields.items():
        if name not in values:
            if field.required:
                errors[name] = "required"
            continue
        problem = _problem(values[name], field)
        if problem:
            errors[name] = problem
    if errors:
        raise RequestValidationError(errors)
    return {name: values[name] for name in fields if name in values}


def _problem(value: Any, field: Field) -> str | None:
    if value is None:
        return None if field.nullable else "must not be null"
    if field.kind == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if field.kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
        if field.minimum is not None and value < field.minimum:
            return f"must be at least {field.minimum}"
        if field.maximum is not None and value > field.maximum:
            return f"must be at most {field.maximum}"
        return None
    if field.kind == "array":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return "must be a list of strings"
        if field.max_items is not None and len(value) > field.max_items:
            return f"at most {field.max_items} items"
        if field.max_length is not None and any(len(item) > field.max_length for item in value):
            return f"items of at most {field.max_length} characters"
        return None
    if not isinstance(value, str):
        return "must be a string"
    if field.max_length is not None and len(value) > field.max_length:
        return f"at most {field.max_length} characters"
    if field.choices is not None and value not in field.choices:
        return f"must be one of {', '.join(field.choices)}"
    if field.pattern is not None and not re.fullmatch(field.pattern, value):
        return f"has an invalid format (expected {field.pattern})"
    return None


def backup_id_field(description: str) -> Field:
    return Field("string", description, required=True, max_length=64, pattern=BACKUP_ID_PATTERN)
