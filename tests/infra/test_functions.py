"""One 2nd gen python312 function per main.py entry point, sized for its job and configured from variables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.config import PERMISSIONS
from tests.infra.terraform_console import evaluate, evaluate_json, terraform_binary
from tests.infra.terraform_files import REPOSITORY, local_values, resource, single_block

LONG_RUNNING = ("create_backup", "restore_backup", "scheduled_backup")
ENVIRONMENT = {
    "BACKUP_DATABASE_URL", "BACKUP_DATABASE_PASSWORD_SECRET", "BACKUP_CATALOG", "BACKUP_GCP_PROJECT",
    "BACKUP_FIRESTORE_DATABASE", "BACKUP_STORAGE", "BACKUP_DRIVE_FOLDER_ID", "BACKUP_DRIVE_CREDENTIALS",
    "BACKUP_DRIVE_OAUTH_SECRET", "BACKUP_SECRETS", "BACKUP_NOTIFIER", "BACKUP_SENDGRID_API_KEY_SECRET",
    "BACKUP_NOTIFY_FROM", "BACKUP_PERMISSIONS", "BACKUP_SCHEDULER_BACKUP_JOB", "BACKUP_SCHEDULER_CLEANUP_JOB",
    "BACKUP_SCHEDULER_MAX_RETRIES", "BACKUP_SCHEDULER_MIN_BACKOFF_SECONDS",
    "BACKUP_SCHEDULER_MAX_BACKOFF_SECONDS", "BACKUP_SCHEDULER_MAX_DOUBLINGS", "BACKUP_STRIP_DEFINERS",
    "BACKUP_MYSQL_READERS", "BACKUP_COMPRESSION",
    "BACKUP_POSTGRES_RESTORE_CONNECTIONS", "BACKUP_RESTORE_LOCK_WAIT_SECONDS",
    "BACKUP_CATALOG_TIMEOUT_SECONDS",
}  # fmt: skip


def http_entry_points() -> set[str]:
    """Functions in main.py decorated with @functions_framework.http (or a bare imported @http)."""
    tree = ast.parse((REPOSITORY / "main.py").read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                name = ast.unparse(decorator)
                if name in ("functions_framework.http", "http"):
                    found.add(node.name)
    return found


def test_a_function_per_main_py_entry_point() -> None:
    deployed = set(local_values()["functions"])
    declared = http_entry_points()
    assert declared == deployed, (
        f"main.py entry points without a function in infra/permissions.tf: {sorted(declared - deployed)}; "
        f"functions in infra/ without an @functions_framework.http entry point in main.py: "
        f"{sorted(deployed - declared)}"
    )


def test_permission_names_match_the_application() -> None:
    assert local_values()["permission_names"] == list(PERMISSIONS)


def test_function_resource_builds_each_entry_point_on_python312() -> None:
    function = resource("google_cloudfunctions2_function", "function").body
    assert function["for_each"] == "${local.functions}"
    build = single_block(function, "build_config")
    assert build["entry_point"] == "${each.key}"
    assert build["runtime"] == "python312"
    service = single_block(function, "service_config")
    assert service["service_account_email"] == "${google_service_account.runtime.email}"
    assert service["timeout_seconds"] == "${each.value.timeout_seconds}"
    assert service["available_memory"] == "${each.value.memory}"
    assert service["max_instance_count"] == "${each.value.max_instances}"


def _mebibytes(memory: str) -> int:
    match = re.fullmatch(r"(\d+)(Mi|Gi)", memory)
    assert match, f"memory {memory!r} must be written like 512Mi or 2Gi"
    return int(match.group(1)) * (1024 if match.group(2) == "Gi" else 1)


def test_long_operations_get_an_hour_enough_memory_and_one_instance() -> None:
    functions = local_values()["functions"]
    for name in LONG_RUNNING:
        # Scheduler waits at most 1800 s for an HTTP target; a scheduled function must answer within it.
        assert functions[name]["timeout_seconds"] == (1800 if name.startswith("scheduled_") else 3600), name
        assert 1024 <= _mebibytes(functions[name]["memory"]) <= 2048, name
        assert functions[name]["max_instances"] == 1, name
    for name, spec in functions.items():
        assert 60 <= spec["timeout_seconds"] <= 3600, name
        assert spec["max_instances"] >= 1, name


def test_environment_names_every_setting_and_its_own_audience() -> None:
    environment = local_values()["common_environment"]
    assert set(environment) == ENVIRONMENT
    assert environment["BACKUP_CATALOG"] == "firestore"
    assert environment["BACKUP_STORAGE"] == "drive"
    assert environment["BACKUP_SECRETS"] == "secret-manager"
    service = single_block(resource("google_cloudfunctions2_function", "function").body, "service_config")
    per_function = " ".join(service["environment_variables"].split())
    assert (
        'BACKUP_AUTH_AUDIENCE = join(",", concat([local.function_urls[each.key]], var.extra_token_audiences))'
        in per_function
    )
    assert "BACKUP_TIME_LIMIT_SECONDS = tostring(local.function_time_limits[each.key])" in per_function
    urls = local_values()["function_urls"]
    assert "https://${var.region}-${var.project_id}.cloudfunctions.net/${name}" in urls


def test_each_function_stops_its_work_in_time_to_fail_cleanly_before_its_timeout(tmp_path: Path) -> None:
    if terraform_binary() is None:
        pytest.skip("terraform binary not found")
    limits = evaluate_json("local.function_time_limits", {}, tmp_path)
    functions = local_values()["functions"]
    assert set(limits) == set(functions)
    for name, spec in functions.items():
        margin = spec["timeout_seconds"] - limits[name]
        assert 10 <= margin <= 300, name
    assert limits["restore_backup"] == limits["create_backup"] == 3300
    assert limits["list_backups"] == 50


def test_no_password_in_the_environment() -> None:
    environment = local_values()["common_environment"]
    assert not any("PASSWORD" in name and not name.endswith("_SECRET") for name in environment)
    assert environment["BACKUP_DATABASE_URL"] == "${var.database_url}"


def test_the_database_ca_certificate_is_mounted_where_the_url_expects_it() -> None:
    service = single_block(resource("google_cloudfunctions2_function", "function").body, "service_config")
    (volume,) = service["dynamic"]
    content = volume["secret_volumes"]["content"][0]
    assert volume["secret_volumes"]["for_each"] == "${google_secret_manager_secret_version.database_ca}"
    locals_ = local_values()
    assert content["mount_path"] == "${local.database_ca_folder}"
    assert content["versions"][0]["path"] == "${local.database_ca_file}"
    mounted = f"{locals_['database_ca_folder']}/{locals_['database_ca_file']}"
    assert mounted == "/etc/database-ca/server-ca.pem"
    variables = (REPOSITORY / "infra" / "variables.tf").read_text()
    assert f"sslrootcert={mounted}" in variables  # the URL check names the mounted file
    readme = (REPOSITORY / "infra" / "README.md").read_text()
    assert f"sslrootcert={mounted}" in readme


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
VERIFYING_URL = "mysql://backup@10.0.0.3:3306/shop?sslmode=verify-ca&sslrootcert=/etc/database-ca/server-ca.pem"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"database_server_ca": "not a certificate"}, "database_server_ca must be a PEM certificate"),
        ({"database_url": VERIFYING_URL}, "database_url's sslrootcert must be"),
        (
            {"database_url": VERIFYING_URL.replace("/etc/database-ca/", "/tmp/"), "database_server_ca": PEM},
            "database_url's sslrootcert must be",
        ),
    ],
)
def test_database_ca_settings_are_checked(variables: dict[str, str], message: str, tmp_path: Path) -> None:
    if terraform_binary() is None:
        pytest.skip("terraform binary not found")
    result = evaluate("var.database_server_ca", variables, tmp_path)  # console reports, but exits with 0
    assert message in " ".join(result.stderr.split())


def test_a_verifying_url_with_its_certificate_is_accepted(tmp_path: Path) -> None:
    if terraform_binary() is None:
        pytest.skip("terraform binary not found")
    variables = {"database_url": VERIFYING_URL, "database_server_ca": PEM}
    result = evaluate("var.database_server_ca", variables, tmp_path)
    assert "Error" not in result.stderr, result.stderr
    assert evaluate_json("var.database_server_ca", variables, tmp_path) == PEM


def test_the_source_bucket_expires_replaced_archives_only() -> None:
    """The live archive is named after its content and can be months old; deleting it would make the next
    apply upload it again. Only the noncurrent versions of archives Terraform replaced go."""
    bucket = resource("google_storage_bucket", "source").body
    condition = single_block(single_block(bucket, "lifecycle_rule"), "condition")
    assert {key: condition[key] for key in condition if not key.startswith("__")} == {
        "days_since_noncurrent_time": 30,
        "with_state": "ARCHIVED",
    }
    assert single_block(bucket, "versioning")["enabled"] is True


def test_a_private_database_without_a_vpc_path_is_refused_before_deploying() -> None:
    function = resource("google_cloudfunctions2_function", "function").body
    conditions = [check["condition"] for check in single_block(function, "lifecycle")["precondition"]]
    assert '${!local.database_is_private || local.vpc_connector != "none"}' in conditions
