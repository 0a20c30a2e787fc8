"""Check a parsed Terraform block body against a provider schema, as `terraform validate` would for names.

A schema block is `{"required": [...], "optional": [...], "blocks": {name: {..., "required_block": bool}}}`,
the form tools/provider_schema/generate.py writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "tools" / "provider_schema"
META_ARGUMENTS = frozenset({"count", "for_each", "depends_on", "provider"})
META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection"})


def load_schemas(folder: Path = SCHEMA_DIR) -> dict[str, dict[str, dict[str, Any]]]:
    """{"resource": {type: schema}, "data": {type: schema}} from every *.json in `folder`."""
    merged: dict[str, dict[str, dict[str, Any]]] = {"resource": {}, "data": {}}
    for path in sorted(folder.glob("*.json")):
        content = json.loads(path.read_text())
        merged["resource"].update(content["resources"])
        merged["data"].update(content["data_sources"])
    return merged


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and item.get("__is_block__") is True for item in value)
    )


def check_body(body: dict[str, Any], schema: dict[str, Any], where: str, *, top: bool = False) -> list[str]:
    """Every unknown argument or block, misuse of one as the other, and missing required one in `body`."""
    problems: list[str] = []
    arguments = set(schema["required"]) | set(schema["optional"])
    nested: dict[str, dict[str, Any]] = schema["blocks"]
    present: set[str] = set()
    for key, value in body.items():
        if key == "__is_block__" or (top and key in META_ARGUMENTS):
            continue
        if top and key in META_BLOCKS:
            continue
        if key == "dynamic" and isinstance(value, list):
            for generator in value:
                for name, generated in generator.items():
                    if name == "__is_block__":
                        continue
                    present.add(name)
                    if name not in nested:
                        problems.append(f"{where}: unknown block {name!r} (dynamic)")
                        continue
                    for content in generated.get("content", []):
                        problems += check_body(content, nested[name], f"{where}.{name}")
            continue
        present.add(key)
        if _is_block(value):
            if key in nested:
                for item in value:
                    problems += check_body(item, nested[key], f"{where}.{key}")
            elif key in arguments:
                problems.append(f"{where}: {key!r} is an argument; write `{key} = ...`, not a block")
            else:
                problems.append(f"{where}: unknown block {key!r}")
        elif key in nested:
            problems.append(f"{where}: {key!r} is a block; write `{key} {{ ... }}`, not `{key} = ...`")
        elif key not in arguments:
            problems.append(f"{where}: unknown argument {key!r}")
    problems += [
        f"{where}: missing required argument {name!r}" for name in sorted(set(schema["required"]) - present)
    ]
    problems += [
        f"{where}: missing required block {name!r}"
        for name, block in sorted(nested.items())
        if block["required_block"] and name not in present
    ]
    return problems
