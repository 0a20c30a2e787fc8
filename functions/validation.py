"""Request validation: declared fields with types, ranges and sizes; every problem named per field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInputError

MAX_BODY_BYTES = 64 * 1024
BACKUP_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class RequestValidationError(InvalidInputError):
    """The request is unusable; `errors` maps each bad field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str], message: str = "invalid request") -> None:
        self.errors = dict(errors)
        super().__init__(message)


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


def parse_body(raw: bytes, fields: Fields) -> dict[str, Any]:
    """A JSON object (an empty body counts as `{}`) with only the declared fields, each checked."""
    if len(raw) > MAX_BODY_BYTES:
        raise RequestValidationError(
            {"body": f"larger than {MAX_BODY_BYTES} bytes"}, "request body too large"
        )
    if not raw.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RequestValidationError({"body": "is not valid JSON"}, "request body is not JSON") from None
    if not isinstance(data, dict):
        raise RequestValidationError({"body": "must be a JSON object"}, "request body must be an object")
    return _check(data, data.keys(), fields, {})


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
