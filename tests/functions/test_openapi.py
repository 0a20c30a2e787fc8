"""openapi.yaml describes exactly what the code accepts: every function a path with its permission and
methods; every query and body field with its type, limits and whether it is required; nothing extra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.registry import FUNCTIONS
from functions.validation import Field
from tests.functions.conftest import FUNCTION_NAMES

SPEC: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


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
