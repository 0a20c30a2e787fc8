"""Golden-file tests of `plan_retention`, in the style of restic's `testdata/policy_keep_snapshots_*`.

Each `testdata/policy_keep_*.json` holds a hand-written history (`backups`), a `policy`, a `now` and the
hand-checked `expected` plan: kept ids with their reasons, deleted ids and ignored (not completed) ids, all
newest first. After a deliberate change of the policy's meaning, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/retention/test_retention_golden.py

which rewrites each file's `expected` from the current code and skips the comparison; review the diff
before committing it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shared.models import BackupStatus
from shared.retention import RetentionPlan, RetentionPolicy, plan_retention
from tests.retention.sample_backups import sample_backup

TESTDATA = Path(__file__).parent / "testdata"
GOLDEN_FILES = sorted(TESTDATA.glob("policy_keep_*.json"))


def plan_as_golden(plan: RetentionPlan) -> dict[str, Any]:
    return {
        "keep": [{"id": kept.backup.id, "reasons": kept.reasons} for kept in plan.keep],
        "delete": [backup.id for backup in plan.delete],
        "ignored": [backup.id for backup in plan.ignored],
    }


def plan_for(golden: dict[str, Any]) -> RetentionPlan:
    backups = [
        sample_backup(
            entry["id"],
            datetime.fromisoformat(entry["created_at"]),
            BackupStatus(entry["status"]),
            is_protected=entry["protected"],
        )
        for entry in golden["backups"]
    ]
    policy = RetentionPolicy(**golden["policy"])
    return plan_retention(backups, policy, datetime.fromisoformat(golden["now"]))


def test_there_are_golden_files() -> None:
    assert len(GOLDEN_FILES) >= 4


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_plan_matches_golden_file(path: Path) -> None:
    golden = json.loads(path.read_text())
    actual = plan_as_golden(plan_for(golden))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden["expected"] = actual
        path.write_text(json.dumps(golden, indent=2) + "\n")
        pytest.skip(f"rewrote {path.name}; review the diff")
    assert actual == golden["expected"], golden["description"]
