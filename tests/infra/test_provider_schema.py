"""Every resource and data block in infra/ uses only arguments and blocks its provider knows, and all
required ones."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.infra.schema_check import SCHEMA_DIR, check_body, load_schemas
from tests.infra.terraform_files import INFRA, Block, blocks, parse_file

SCHEMAS = load_schemas()


@pytest.mark.parametrize("block", blocks(), ids=lambda block: f"{block.kind}.{block.type}.{block.name}")
def test_block_matches_provider_schema(block: Block) -> None:
    schema = SCHEMAS[block.kind].get(block.type)
    assert schema is not None, (
        f"{block.address}: no schema for {block.type}; "
        "run `.venv/bin/python tools/provider_schema/generate.py`"
    )
    assert check_body(block.body, schema, block.address, top=True) == []


def test_schema_is_for_the_pinned_provider_major() -> None:
    generated = sorted(SCHEMA_DIR.glob("google-*.json"))
    assert [path.name for path in generated] == ["google-6.50.0.json"]
    versions = (INFRA / "versions.tf").read_text()
    constraint = re.search(r'source\s*=\s*"hashicorp/google"\s*version\s*=\s*"([^"]+)"', versions)
    assert constraint is not None, "versions.tf must pin hashicorp/google"
    assert constraint.group(1) == ">= 6.50.0, < 7.0.0"


def _checked(source: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "sample.tf"
    path.write_text(source)
    [entry] = parse_file(path)["resource"]
    [(type_name, named)] = entry.items()
    [(name, body)] = named.items()
    return check_body(body, SCHEMAS["resource"][type_name], f"{type_name}.{name}", top=True)


def test_checker_reports_unknown_argument_and_block(tmp_path: Path) -> None:
    problems = _checked(
        """
resource "google_cloud_scheduler_job" "job" {
  name      = "x"
  scheduler = "0 3 * * *"
  http_target {
    uri = "https://example.com"
    oidc {
      service_account_email = "a@b.c"
    }
  }
}
""",
        tmp_path,
    )
    assert problems == [
        "google_cloud_scheduler_job.job: unknown argument 'scheduler'",
        "google_cloud_scheduler_job.job.http_target: unknown block 'oidc'",
    ]


def test_checker_reports_missing_required_and_block_misuse(tmp_path: Path) -> None:
    problems = _checked(
        """
resource "google_secret_manager_secret" "secret" {
  labels = { a = "b" }
  rotation = {}
  dynamic "rotations" {
    for_each = []
    content {}
  }
}
""",
        tmp_path,
    )
    assert problems == [
        "google_secret_manager_secret.secret: 'rotation' is a block; "
        "write `rotation { ... }`, not `rotation = ...`",
        "google_secret_manager_secret.secret: unknown block 'rotations' (dynamic)",
        "google_secret_manager_secret.secret: missing required argument 'secret_id'",
        "google_secret_manager_secret.secret: missing required block 'replication'",
    ]


def test_checker_follows_dynamic_block_content(tmp_path: Path) -> None:
    problems = _checked(
        """
resource "google_firestore_index" "index" {
  collection = "backups"
  dynamic "fields" {
    for_each = []
    content {
      field_path = "a"
      direction  = "ASCENDING"
    }
  }
}
""",
        tmp_path,
    )
    assert problems == ["google_firestore_index.index.fields: unknown argument 'direction'"]
