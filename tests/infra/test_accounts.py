"""Least privilege: the runtime account gets only what the functions use; the scheduler only invokes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from google.api_core import exceptions as google_errors

from shared.schedule_sync import SCHEDULER_ROLE_TITLE, CloudSchedulerSync, ScheduleSyncError
from tests.infra.terraform_console import evaluate_json, terraform_binary
from tests.infra.terraform_files import (
    INFRA,
    blocks,
    local_values,
    parsed_infra,
    resource,
    resources,
    variables,
)

PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}


def test_runtime_project_roles_are_the_needed_ones_and_not_primitive() -> None:
    roles = set(re.findall(r'"(roles/[^"]+)"', local_values()["runtime_project_roles"]))
    assert roles == {"roles/datastore.user", "roles/logging.logWriter"}
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


def test_no_cloud_sql_role_or_api_since_the_cloud_sql_socket_is_refused() -> None:
    """The functions reach the database at its private IP with a password (plain TCP, no IAM); the socket,
    which would need roles/cloudsql.client and the service's Cloud SQL setting, is refused by database_url
    because google_cloudfunctions2_function cannot set the latter."""
    conditions = [check["condition"] for check in variables()["database_url"]["validation"]]
    assert '${!strcontains(var.database_url, "/cloudsql/")}' in conditions
    for block in blocks():
        assert "cloudsql" not in json.dumps(block.body), block.address
    assert "cloudsql" not in json.dumps(local_values()["runtime_project_roles"])
    assert "sqladmin.googleapis.com" not in local_values()["apis"]
    readme = " ".join((INFRA / "README.md").read_text().split())
    assert "runtime account has no Cloud SQL role" in readme
    assert "still has `roles/cloudsql.client`" not in readme


SECRETS = {"database_password", "sendgrid_api_key", "drive_oauth"}


def test_runtime_reads_exactly_its_secrets_and_writes_only_the_drive_oauth_one() -> None:
    locals_ = local_values()
    assert set(locals_["created_secrets"]) == SECRETS == set(locals_["runtime_reads_secret"])
    readable = " ".join(locals_["runtime_readable_secrets"].split())
    assert (
        "for name, secret_id in local.created_secrets : name => secret_id if local.runtime_reads_secret[name]"
        in readable
    )
    assert resource("google_secret_manager_secret", "sendgrid_api_key").body.get("count") is None
    assert resource("google_secret_manager_secret", "drive_oauth").body.get("count") is None
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


@pytest.mark.skipif(terraform_binary() is None, reason="terraform binary not found; skipped")
@pytest.mark.parametrize(
    ("notifier", "drive_credentials", "read"),
    [
        ("sendgrid", "default", {"database_password", "sendgrid_api_key"}),
        ("log", "default", {"database_password"}),
        ("log", "oauth", {"database_password", "drive_oauth"}),
        ("sendgrid", "oauth", SECRETS),
    ],
)
def test_runtime_may_read_a_secret_only_when_the_code_reads_it(
    notifier: str, drive_credentials: str, read: set[str], tmp_path: Path
) -> None:
    """shared/wiring.py reads the SendGrid key only with BACKUP_NOTIFIER=sendgrid and the Drive OAuth token
    only with BACKUP_DRIVE_CREDENTIALS=oauth."""
    variables_ = {"notifier": notifier, "drive_credentials": drive_credentials}
    reads = evaluate_json("local.runtime_reads_secret", variables_, tmp_path)
    assert {name for name, granted in reads.items() if granted} == read


def test_the_secret_ids_output_still_lists_every_created_secret() -> None:
    """Conditional grants must not hide a secret the operator fills (infra/README step 3)."""
    [output] = [
        entry["secret_ids"]
        for _, content in parsed_infra()
        for entry in content.get("output", [])
        if "secret_ids" in entry
    ]
    assert output["value"] == "${local.created_secrets}"


def test_the_only_value_terraform_stores_is_the_public_database_ca_certificate() -> None:
    versions = resources("google_secret_manager_secret_version")
    expected = "google_secret_manager_secret_version.database_ca (secrets.tf)"
    assert [block.address for block in versions] == [expected]
    assert versions[0].body["secret_data"] == "${var.database_server_ca}"


def test_first_apply_creates_what_a_binding_or_role_needs_before_it() -> None:
    """Nothing else orders these: the custom role is created through the IAM API that google_project_service
    enables, and the scheduler's run.invoker member is a string built in permissions.tf."""
    role = resource("google_project_iam_custom_role", "scheduler_job_updater").body
    assert "${google_project_service.enabled}" in role["depends_on"]
    invoker = resource("google_cloud_run_service_iam_member", "invoker").body
    assert "${google_service_account.scheduler}" in invoker["depends_on"]
    assert "serviceAccount:${local.scheduler_account_id}@" in local_values()["scheduler_member"]


def test_a_scheduler_permission_error_names_what_infra_grants() -> None:
    """The settings function's hint names the custom role and the actAs infra/ gives, not a broad role."""
    role = resource("google_project_iam_custom_role", "scheduler_job_updater").body
    assert role["title"] == SCHEDULER_ROLE_TITLE
    assert role["role_id"] == '${replace("${var.name_prefix}_scheduler_job_updater", "-", "_")}'
    assert variables()["name_prefix"]["default"] == "db-backup"
    acts_as = resource("google_service_account_iam_member", "runtime_acts_as_scheduler").body
    assert acts_as["role"] == "roles/iam.serviceAccountUser"

    class DeniedClient:
        def get_job(self, name: str) -> None:
            raise google_errors.PermissionDenied("denied")  # type: ignore[no-untyped-call]

    job = "projects/my-project/locations/europe-west1/jobs/db-backup-backup"
    with pytest.raises(ScheduleSyncError) as raised:
        CloudSchedulerSync(DeniedClient(), job).read()  # type: ignore[arg-type]
    message = str(raised.value)
    assert "cloudscheduler.admin" not in message
    assert SCHEDULER_ROLE_TITLE in message
    assert "projects/my-project/roles/db_backup_scheduler_job_updater" in message
    for permission in role["permissions"]:
        assert permission.removeprefix("cloudscheduler.jobs.") in message, permission
    assert "roles/iam.serviceAccountUser" in message
    assert "db-backup-scheduler@my-project.iam.gserviceaccount.com" in message


def test_readme_names_the_three_accounts_and_the_deployers_act_as_on_each() -> None:
    accounts = [block.body["account_id"] for block in resources("google_service_account")]
    assert sorted(accounts) == sorted(
        f"${{local.{name}_account_id}}" for name in ("runtime", "scheduler", "build")
    )
    readme = " ".join((INFRA / "README.md").read_text().split())
    assert "three service accounts" in readme and "two service accounts" not in readme
    assert "Service Account User on the three accounts it creates: `-build`" in readme
    for suffix in ("-build", "-runtime", "-scheduler"):
        assert f"`{suffix}`" in readme, suffix


def test_every_api_the_deployment_calls_is_enabled() -> None:
    """Project IAM bindings go through Cloud Resource Manager: a project without it would fail half-way
    through apply. (Service Usage, which enables these, must be on already: it cannot enable itself.)"""
    apis = set(re.findall(r'"([a-z]+\.googleapis\.com)"', local_values()["apis"]))
    for needed in ("cloudresourcemanager", "cloudfunctions", "run", "cloudbuild", "iam"):
        assert f"{needed}.googleapis.com" in apis, needed
