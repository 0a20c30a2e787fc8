"""Permissions as IAM: each permission's members get run.invoker on exactly that permission's functions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.infra.terraform_console import evaluate, evaluate_json, terraform_binary
from tests.infra.terraform_files import INFRA, blocks, local_values, resources

EXPECTED_PERMISSION = {
    "list_backups": "backups.view",
    "create_backup": "backups.create",
    "delete_backup": "backups.delete",
    "download_backup": "backups.download",
    "restore_backup": "backups.restore",
    "cleanup_backups": "backups.manage-settings",
    "backup_settings": "backups.manage-settings",
    "scheduled_backup": "backups.run-scheduled",
    "scheduled_cleanup": "backups.run-scheduled",
}
SCHEDULER = "serviceAccount:db-backup-scheduler@my-project.iam.gserviceaccount.com"
SAMPLE_PERMISSIONS = {
    "backups.view": ["user:dev@example.com", "user:ops@example.com"],
    "backups.create": ["user:ops@example.com"],
    "backups.restore": ["user:dba@example.com"],
    "backups.manage-settings": ["user:dba@example.com"],
}
needs_terraform = pytest.mark.skipif(terraform_binary() is None, reason="terraform binary not found; skipped")


def test_each_function_has_the_permission_of_the_spec() -> None:
    functions = local_values()["functions"]
    assert {name: spec["permission"] for name, spec in functions.items()} == EXPECTED_PERMISSION


@needs_terraform
def test_invoker_bindings_are_exactly_each_permissions_members(tmp_path: Path) -> None:
    bindings = evaluate_json("local.invoker_bindings", {"permissions": SAMPLE_PERMISSIONS}, tmp_path)
    granted = sorted((binding["entry_point"], binding["member"]) for binding in bindings.values())
    members = {**SAMPLE_PERMISSIONS, "backups.run-scheduled": [SCHEDULER]}
    expected = sorted(
        (name, member)
        for name, permission in EXPECTED_PERMISSION.items()
        for member in members.get(permission, [])
    )
    assert granted == expected


@needs_terraform
def test_backup_permissions_lists_every_permission_with_the_same_members(tmp_path: Path) -> None:
    members = evaluate_json("local.permission_members", {"permissions": SAMPLE_PERMISSIONS}, tmp_path)
    assert members == {
        "backups.view": SAMPLE_PERMISSIONS["backups.view"],
        "backups.create": SAMPLE_PERMISSIONS["backups.create"],
        "backups.delete": [],
        "backups.restore": SAMPLE_PERMISSIONS["backups.restore"],
        "backups.download": [],
        "backups.manage-settings": SAMPLE_PERMISSIONS["backups.manage-settings"],
        "backups.run-scheduled": [SCHEDULER],
    }
    assert (
        local_values()["common_environment"]["BACKUP_PERMISSIONS"]
        == "${jsonencode(local.permission_members)}"
    )


@needs_terraform
def test_people_can_be_added_to_scheduled_runs_but_never_replace_the_scheduler(tmp_path: Path) -> None:
    permissions = {"backups.run-scheduled": ["user:ops@example.com"]}
    members = evaluate_json("local.permission_members", {"permissions": permissions}, tmp_path)
    assert members["backups.run-scheduled"] == [SCHEDULER, "user:ops@example.com"]


@needs_terraform
@pytest.mark.parametrize(
    ("permissions", "message"),
    [
        ({"backups.view": ["allUsers"]}, "allUsers"),
        ({"backups.view": ["allAuthenticatedUsers"]}, "allUsers"),
        ({"backups.admin": ["user:a@example.com"]}, "permissions keys must be"),
        ({"backups.view": ["group:devs@example.com"]}, "serviceAccount:"),
    ],
)
def test_permissions_variable_refuses_public_members_and_unknown_permissions(
    permissions: dict[str, list[str]], message: str, tmp_path: Path
) -> None:
    result = evaluate("local.invoker_bindings", {"permissions": permissions}, tmp_path)
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split())


def test_the_only_invoker_grant_binds_each_member_to_its_own_function() -> None:
    grants = [block for block in blocks() if "run.invoker" in json.dumps(block.body)]
    assert [block.name for block in grants] == ["invoker"]
    [invoker] = resources("google_cloud_run_service_iam_member")
    assert invoker.body["for_each"] == "${local.invoker_bindings}"
    assert invoker.body["role"] == "roles/run.invoker"
    assert invoker.body["member"] == "${each.value.member}"
    assert invoker.body["service"] == (
        "${google_cloudfunctions2_function.function[each.value.entry_point].service_config[0].service}"
    )


def test_no_block_names_a_public_member() -> None:
    for block in blocks():
        text = json.dumps(block.body)
        assert "allUsers" not in text and "allAuthenticatedUsers" not in text, block.address


@needs_terraform
def test_the_example_variables_file_is_accepted_as_shipped(tmp_path: Path) -> None:
    """infra/README's first step copies it: `terraform plan` must not fail on its own example."""
    shutil.copy(INFRA / "terraform.tfvars.example", tmp_path / "terraform.tfvars")
    bindings = evaluate_json("local.invoker_bindings", {}, tmp_path)
    assert "list_backups domain:example.com" in bindings


@needs_terraform
@pytest.mark.parametrize(
    ("database_url", "private"),
    [
        ("mysql://backup@10.20.0.3:3306/shop", True),
        ("postgresql://backup@172.16.5.9/app", True),
        ("postgresql://backup@172.32.0.1/app", False),
        ("mysql://backup@192.168.1.4/shop", True),
        ("mysql://backup@db.example.com/shop", False),
        ("mysql://backup@34.77.10.2/shop", False),
    ],
)
def test_a_private_database_address_is_recognised(database_url: str, private: bool, tmp_path: Path) -> None:
    """A function with no VPC path to a private address could never connect: functions.tf refuses it."""
    assert evaluate_json("local.database_is_private", {"database_url": database_url}, tmp_path) is private
