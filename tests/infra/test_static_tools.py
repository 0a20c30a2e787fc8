"""`terraform fmt` and `checkov` on infra/, skipped with a message where the tool is not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.terraform_console import terraform_binary
from tests.infra.terraform_files import INFRA, REPOSITORY


def checkov_binary() -> str | None:
    # checkov pins packaging<24 (pytest needs >=24), so it lives in its own virtualenv inside .venv.
    candidates = [
        REPOSITORY / ".venv" / "checkov" / "bin" / "checkov",
        REPOSITORY / ".venv" / "bin" / "checkov",
    ]
    return next((str(path) for path in candidates if path.exists()), shutil.which("checkov"))


def test_terraform_fmt() -> None:
    binary = terraform_binary()
    if binary is None:
        pytest.skip("terraform binary not found; `terraform fmt -check -recursive infra` skipped")
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", str(INFRA)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull},
        check=False,
    )
    assert result.returncode == 0, f"run `terraform fmt -recursive infra`:\n{result.stdout}"


def test_checkov_has_no_failed_check(tmp_path: Path) -> None:
    binary = checkov_binary()
    if binary is None:
        pytest.skip(
            "checkov not installed (.venv/checkov/bin/checkov or on PATH); `checkov -d infra` skipped"
        )
    result = subprocess.run(
        [binary, "-d", str(INFRA), "--config-file", str(INFRA / ".checkov.yaml"), "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPOSITORY,
        check=False,
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-2000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], (
        "checkov failed checks (fix them, or add a commented skip to infra/.checkov.yaml):\n"
        + "\n".join(failed)
    )
