"""Evaluate expressions of infra/permissions.tf with the real `terraform console` (no provider needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.infra.terraform_files import INFRA

PURE_FILES = ("variables.tf", "permissions.tf")
"""The files that use only variables, so they evaluate without providers or state."""

REQUIRED_VARIABLES = {
    "project_id": "my-project",
    "database_url": "mysql://backup@10.0.0.3:3306/shop",
    "drive_folder_id": "0ABCdefGhIjKlmNoPQ",
    "notify_from": "backups@example.com",
}


def terraform_binary() -> str | None:
    return shutil.which("terraform") or next(
        (path for path in ("/usr/local/bin/terraform",) if Path(path).exists()), None
    )


def evaluate(expression: str, variables: dict[str, Any], workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run `jsonencode(<expression>)` on a copy of the pure files, `variables` as terraform.tfvars.json."""
    binary = terraform_binary()
    assert binary is not None
    for name in PURE_FILES:
        shutil.copy(INFRA / name, workdir / name)
    (workdir / "terraform.tfvars.json").write_text(json.dumps({**REQUIRED_VARIABLES, **variables}))
    environment = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": os.devnull,
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    return subprocess.run(
        [binary, "console"],
        input=f"jsonencode({expression})\n",
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )


def evaluate_json(expression: str, variables: dict[str, Any], workdir: Path) -> Any:
    result = evaluate(expression, variables, workdir)
    assert result.returncode == 0, f"terraform console failed:\n{result.stderr}"
    return json.loads(json.loads(result.stdout))
