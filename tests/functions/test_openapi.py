"""openapi.yaml describes exactly what the code accepts: every function a path with its permission and
methods; every query and body field with its type, limits and whether it is required; nothing extra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.registry import FUNCTIONS
from functions.validation import Field
from shared.models import StorageKind, StorageLocation
from tests.functions.conftest import FUNCTION_NAMES, OPERATOR, SCHEDULER_SA, Api

SPEC: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())
_PYTHON_TYPES: dict[str, type] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "boolean": bool,
}


def _expected_schema(field: Field) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": field.kind}
    limits = {
        "minimum": field.minimum,
        "maximum": field.maximum,
        "pattern": field.pattern,
        "enum": list(field.choices) if field.choices else None,
        "maxItems": field.max_items,
        "nullable": field.nullable or None,
    }
    if field.kind == "array":
        schema["items"] = {"type": "string", **({"maxLength": field.max_length} if field.max_length else {})}
    else:
        limits["maxLength"] = field.max_length
    schema.update({key: value for key, value in limits.items() if value is not None})
    return schema


def _without_description(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key != "description"}


def _resolved(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _response_schema(operation: dict[str, Any], status: str) -> dict[str, Any]:
    response = _resolved(operation["responses"][status])
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def _required(schema: dict[str, Any]) -> set[str]:
    schema = _resolved(schema)
    return set(schema.get("required", [])).union(*(_required(part) for part in schema.get("allOf", [])))


def _has_type(value: Any, kind: str) -> bool:
    if kind == "integer" and isinstance(value, bool):
        return False
    return isinstance(value, _PYTHON_TYPES[kind])


def _violations(value: Any, schema: dict[str, Any], where: str = "body") -> list[str]:
    """Where `value` breaks `schema` (refs, allOf, type, nullable, required, properties and items)."""
    schema = _resolved(schema)
    problems = [problem for part in schema.get("allOf", []) for problem in _violations(value, part, where)]
    if value is None and schema.get("nullable"):
        return problems
    kind = schema.get("type")
    if kind is not None and not _has_type(value, kind):
        return [*problems, f"{where} is not of type {kind}"]
    if isinstance(value, dict):
        problems += [f"{where}.{name} is missing" for name in schema.get("required", []) if name not in value]
        for name, part in schema.get("properties", {}).items():
            if name in value:
                problems += _violations(value[name], part, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += _violations(item, schema["items"], f"{where}[{index}]")
    return problems


def test_every_function_has_a_path_and_main_py_a_target() -> None:
    import main

    assert set(FUNCTIONS) == set(FUNCTION_NAMES)
    assert {path.lstrip("/") for path in SPEC["paths"]} == set(FUNCTIONS)
    for name in FUNCTIONS:
        assert callable(getattr(main, name)), name


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_path_matches_the_code(name: str) -> None:
    endpoint, _ = FUNCTIONS[name]
    item = SPEC["paths"][f"/{name}"]
    assert item["x-permission"] == endpoint.permission
    assert {key for key in item if not key.startswith("x-")} == {m.lower() for m in endpoint.methods}
    for method, fields in endpoint.methods.items():
        operation = item[method.lower()]
        for status in ("400", "401", "403", "500"):
            assert status in operation["responses"], (name, method, status)
            assert "error" in _required(_response_schema(operation, status)), (name, method, status)
        assert ("415" in operation["responses"]) == (method != "GET"), (name, method)
        parameters = operation.get("parameters", [])
        headers = {p["name"] for p in parameters if p["in"] == "header"}
        assert headers == set(endpoint.headers)
        query = {p["name"]: p for p in parameters if p["in"] == "query"}
        if method == "GET":
            assert set(query) == set(fields)
            for field_name, field in fields.items():
                assert query[field_name]["required"] == field.required
                assert query[field_name]["schema"] == _expected_schema(field), field_name
            assert "requestBody" not in operation
        else:
            assert not query
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body["additionalProperties"] is False
            assert set(body["properties"]) == set(fields)
            assert set(body.get("required", [])) == {n for n, f in fields.items() if f.required}
            for field_name, field in fields.items():
                assert _without_description(body["properties"][field_name]) == _expected_schema(field), (
                    field_name
                )


def test_settings_schema_lists_every_setting() -> None:
    from shared.settings_rules import EDITABLE

    settings = SPEC["components"]["schemas"]["Settings"]["properties"]
    assert set(settings) == set(EDITABLE) | {"updated_at"}
    put_fields = FUNCTIONS["backup_settings"][0].methods["PUT"]
    assert set(put_fields) == set(EDITABLE) | {"drive_credentials"}


def test_operations_that_can_be_busy_document_409() -> None:
    assert "409" in SPEC["paths"]["/delete_backup"]["post"]["responses"]
    assert "409" in SPEC["paths"]["/backup_settings"]["put"]["responses"]


@pytest.mark.parametrize(
    ("target", "caller"), [("cleanup_backups", OPERATOR), ("scheduled_cleanup", SCHEDULER_SA)]
)
def test_a_cleanup_that_cannot_delete_answers_500_as_documented(api: Api, target: str, caller: str) -> None:
    doomed = api.call("create_backup").get_json()["backup"]["id"]
    api.call("create_backup")
    api.call(
        "backup_settings", "PUT", body={"retention_daily": 1, "retention_weekly": 0, "retention_monthly": 0}
    )
    catalog = api.runtime.context.catalog
    record = catalog.get_backup(doomed)
    record.locations = [StorageLocation(StorageKind.LOCAL, "../outside-the-backup-folder")]
    catalog.update_backup(record)

    answer = api.call(target, body={}, as_=caller)

    assert answer.status_code == 500, answer.get_json()
    body = answer.get_json()
    assert [failure["id"] for failure in body["failures"]] == [doomed]
    assert "could not be deleted" in body["error"]
    assert _violations(body, _response_schema(SPEC["paths"][f"/{target}"]["post"], "500")) == []
