"""infra/ read with python-hcl2: its resource and data blocks, locals and variables, as plain data."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2

REPOSITORY = Path(__file__).resolve().parents[2]
INFRA = REPOSITORY / "infra"
_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)


@dataclass(frozen=True)
class Block:
    """One `resource` or `data` block."""

    kind: str
    type: str
    name: str
    body: dict[str, Any]
    file: str

    @property
    def address(self) -> str:
        prefix = "data." if self.kind == "data" else ""
        return f"{prefix}{self.type}.{self.name} ({self.file})"


def parse_file(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


@functools.cache
def parsed_infra(infra: Path = INFRA) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(file name, parsed content) of every infra/*.tf."""
    files = sorted(infra.glob("*.tf"))
    if not files:
        raise AssertionError(f"no .tf files in {infra}")
    return tuple((path.name, parse_file(path)) for path in files)


def blocks(infra: Path = INFRA) -> list[Block]:
    found: list[Block] = []
    for file, content in parsed_infra(infra):
        for kind in ("resource", "data"):
            for entry in content.get(kind, []):
                for type_name, named in entry.items():
                    for name, body in named.items():
                        found.append(Block(kind, type_name, name, body, file))
    return found


def resources(type_name: str, infra: Path = INFRA) -> list[Block]:
    return [block for block in blocks(infra) if block.kind == "resource" and block.type == type_name]


def resource(type_name: str, name: str, infra: Path = INFRA) -> Block:
    matches = [block for block in resources(type_name, infra) if block.name == name]
    assert matches, f"infra/ has no resource {type_name}.{name}"
    return matches[0]


def local_values(infra: Path = INFRA) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for _, content in parsed_infra(infra):
        for entry in content.get("locals", []):
            merged.update({key: value for key, value in entry.items() if key != "__is_block__"})
    return merged


def variables(infra: Path = INFRA) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for _, content in parsed_infra(infra):
        for entry in content.get("variable", []):
            merged.update(entry)
    return merged


def single_block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The one nested block `name` of a block body."""
    value = body.get(name)
    assert isinstance(value, list) and len(value) == 1, f"expected exactly one {name} block, found {value!r}"
    block = value[0]
    assert isinstance(block, dict)
    return block
