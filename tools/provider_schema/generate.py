"""Regenerate the compact google provider schema that tests/infra checks infra/ against.

Run `.venv/bin/python tools/provider_schema/generate.py`. It fetches `@cdktf/provider-google` (the google
provider's schema, prebuilt as TypeScript declarations) with `npm pack` into the ignored `.work/` folder,
reads `lib/<resource>/index.d.ts` for every `google_*` resource and data source that infra/ uses, and writes
`google-<provider version>.json`: each type's arguments (required or optional) and nested blocks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

PACKAGE = "@cdktf/provider-google"
PACKAGE_VERSION = "16.12.1"
HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
INFRA = HERE.parent.parent / "infra"

_INTERFACE = re.compile(r"^export interface (\w+)(?: extends [\w.]+)? \{$")
_MEMBER = re.compile(r"^ {4}readonly (\w+)(\??): (.*)$")
_ANCHOR = re.compile(r"Docs at Terraform Registry: \{@link \S+#(\w+) \w+#\w+\}")
_RESOURCE_TYPE = re.compile(r'static readonly tfResourceType = "(\w+)";')


@dataclass
class Member:
    name: str
    required: bool
    type_text: str
    is_block: bool


@dataclass
class BlockSchema:
    required: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"required": sorted(self.required), "optional": sorted(self.optional), "blocks": self.blocks}


def fetch_package() -> Path:
    """The unpacked npm package, fetched once into .work/ (never committed)."""
    package = WORK / "package"
    manifest = package / "package.json"
    if manifest.exists() and json.loads(manifest.read_text())["version"] == PACKAGE_VERSION:
        return package
    WORK.mkdir(exist_ok=True)
    result = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--silent"],
        cwd=WORK,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"npm pack {PACKAGE}@{PACKAGE_VERSION} failed: {result.stderr.strip()}")
    tarball = WORK / result.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        archive.extractall(WORK, filter="data")
    tarball.unlink()
    return package


def types_used_by_infra(infra: Path) -> tuple[set[str], set[str]]:
    """(resource types, data source types) of the google provider that infra/*.tf declares."""
    resources: set[str] = set()
    data_sources: set[str] = set()
    for path in sorted(infra.glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(
                handle, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True)
            )
        for kind, found in (("resource", resources), ("data", data_sources)):
            for entry in parsed.get(kind, []):
                found.update(name for name in entry if name.startswith("google_"))
    return resources, data_sources


def declaration_files(lib: Path) -> dict[tuple[bool, str], Path]:
    """(is data source, terraform type) → its index.d.ts."""
    found: dict[tuple[bool, str], Path] = {}
    for declaration in lib.glob("*/index.d.ts"):
        match = _RESOURCE_TYPE.search(declaration.read_text())
        if match:
            found[(declaration.parent.name.startswith("data-"), match.group(1))] = declaration
    return found


def read_interfaces(text: str) -> dict[str, list[Member]]:
    """Every exported interface's members: snake_case name, required, type, block or not."""
    interfaces: dict[str, list[Member]] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        header = _INTERFACE.match(lines[index])
        index += 1
        if not header:
            continue
        members: list[Member] = []
        doc = ""
        while index < len(lines) and lines[index] != "}":
            line = lines[index]
            index += 1
            if line.strip().startswith("/**"):
                doc = line
                while "*/" not in line:
                    line = lines[index]
                    index += 1
                    doc += "\n" + line
                continue
            member = _MEMBER.match(line)
            if not member:
                continue
            type_text = member.group(3)
            while type_text.count("{") > type_text.count("}") or not type_text.endswith(";"):
                type_text += " " + lines[index].strip()
                index += 1
            anchor = _ANCHOR.search(doc)
            if anchor is None:
                raise ValueError(f"{header.group(1)}.{member.group(1)} has no registry anchor to name it")
            name = anchor.group(1)
            is_block = bool(re.search(rf"\* {re.escape(name)} block\b", doc))
            members.append(Member(name, member.group(2) != "?", type_text.rstrip(";"), is_block))
            doc = ""
        interfaces[header.group(1)] = members
    return interfaces


def block_schema(interface: str, interfaces: dict[str, list[Member]]) -> BlockSchema:
    schema = BlockSchema()
    for member in interfaces[interface]:
        nested = re.sub(r"\[\]|\| cdktf\.IResolvable|\s", "", member.type_text)
        if member.is_block and nested in interfaces:
            child = block_schema(nested, interfaces).as_json()
            schema.blocks[member.name] = {"required_block": member.required, **child}
        elif member.required:
            schema.required.append(member.name)
        else:
            schema.optional.append(member.name)
    return schema


def type_schema(declaration: Path) -> dict[str, Any]:
    text = declaration.read_text()
    interfaces = read_interfaces(text)
    config = re.search(r"^export interface (\w+Config) extends cdktf\.TerraformMetaArguments \{$", text, re.M)
    if config is None:
        raise ValueError(f"{declaration} declares no <Type>Config interface")
    return block_schema(config.group(1), interfaces).as_json()


def main() -> int:
    package = fetch_package()
    manifest = json.loads((package / "package.json").read_text())
    provider = manifest["cdktf"]["provider"]
    files = declaration_files(package / "lib")
    resources, data_sources = types_used_by_infra(INFRA)
    schema: dict[str, Any] = {
        "_comment": f"Generated by tools/provider_schema/generate.py from {PACKAGE}@{PACKAGE_VERSION}.",
        "provider": provider["name"],
        "version": provider["version"],
        "resources": {},
        "data_sources": {},
    }
    for is_data, names, section in ((False, resources, "resources"), (True, data_sources, "data_sources")):
        for name in sorted(names):
            declaration = files.get((is_data, name))
            if declaration is None:
                raise SystemExit(
                    f"{PACKAGE}@{PACKAGE_VERSION} has no {section[:-1]} {name}; check its spelling"
                )
            schema[section][name] = type_schema(declaration)
    target = HERE / f"google-{provider['version']}.json"
    target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(
        f"wrote {target.relative_to(HERE.parent.parent)}: "
        f"{len(resources)} resources, {len(data_sources)} data sources"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
