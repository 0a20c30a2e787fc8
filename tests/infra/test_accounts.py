"""Least privilege: the runtime account gets only what the functions use; the scheduler only invokes."""

from __future__ import annotations

import json
import re

from tests.infra.terraform_files import blocks, local_values, resource, resources

PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


def test_runtime_project_roles_are_the_needed_ones_and_not_primitive() -> None:
    roles = set(re.findall(r'"(roles/[^"]+)"', local_values()["runtime_project_roles"]))
    assert roles == {"roles/cloudsql.client", "roles/datastore.user", "roles/logging.logWriter"}
    custom = resource("google_project_iam_custom_role", "scheduler_job_updater").body
    assert sorted(custom["permissions"]) == [
        "cloudscheduler.jobs.enable",
        "cloudscheduler.jobs.get",
        "cloudscheduler.jobs.pause",
        "cloudscheduler.jobs.update",
    ]


def test_no_identity_gets_a_primitive_role() -> None:
    for block in blocks():
        text = json.dumps(block.body)
        assert not any(f'"{role}"' in text for role in PRIMITIVE_ROLES), block.address


def test_project_roles_go_to_the_runtime_and_build_accounts_only() -> None:
    members = {block.name: block.body["member"] for block in resources("google_project_iam_member")}
    build = members.pop("build")
    assert build == "${google_service_account.build.member}"
    assert set(members.values()) == {"${google_service_account.runtime.member}"}, members


def test_functions_are_built_by_their_own_account_with_the_build_roles() -> None:
    roles = set(re.findall(r'"(roles/[^"]+)"', local_values()["build_project_roles"]))
    assert roles == {"roles/logging.logWriter", "roles/artifactregistry.writer", "roles/storage.objectAdmin"}
    [function] = resources("google_cloudfunctions2_function")
    [build_config] = function.body["build_config"]
    assert build_config["service_account"] == "${google_service_account.build.id}"
    assert "${google_project_iam_member.build}" in function.body["depends_on"]


def test_runtime_reads_exactly_its_secrets_and_writes_only_the_drive_oauth_one() -> None:
    readable = local_values()["runtime_readable_secrets"]
    assert set(readable) == {"database_password", "sendgrid_api_key", "drive_oauth"}
    accessor = resource("google_secret_manager_secret_iam_member", "runtime_accessor").body
    assert accessor["for_each"] == "${merge(local.runtime_readable_secrets, local.mounted_secrets)}"
    assert "google_secret_manager_secret.database_ca" in local_values()["mounted_secrets"]
    assert accessor["role"] == "roles/secretmanager.secretAccessor"
    writers = [
        block for block in resources("google_secret_manager_secret_iam_member")
        if block.body["role"] != "roles/secretmanager.secretAccessor"
    ]  # fmt: skip
    assert [(block.body["role"], block.body["secret_id"]) for block in writers] == [
        ("roles/secretmanager.secretVersionAdder", "${google_secret_manager_secret.drive_oauth.secret_id}")
    ]


def test_the_only_value_terraform_stores_is_the_public_database_ca_certificate() -> None:
    versions = resources("google_secret_manager_secret_version")
    expected = "google_secret_manager_secret_version.database_ca (secrets.tf)"
    assert [block.address for block in versions] == [expected]
    assert versions[0].body["secret_data"] == "${var.database_server_ca}"


def test_every_api_the_deployment_calls_is_enabled() -> None:
    """Project IAM bindings go through Cloud Resource Manager: a project without it would fail half-way
    through apply. (Service Usage, which enables these, must be on already: it cannot enable itself.)"""
    apis = set(re.findall(r'"([a-z]+\.googleapis\.com)"', local_values()["apis"]))
    for needed in ("cloudresourcemanager", "cloudfunctions", "run", "cloudbuild", "iam"):
        assert f"{needed}.googleapis.com" in apis, needed
