"""Each function once, through the Functions Framework in-process: the happy paths and their answers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from functions import runtime
from shared.models import AuditAction
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.functions.conftest import JOB, Api, client_for


def test_create_list_show_download_delete(api: Api) -> None:
    created = api.call("create_backup", body={"protect": True})
    assert created.status_code == 201, created.get_json()
    backup = created.get_json()["backup"]
    assert backup["status"] == "completed" and backup["is_protected"] is True
    assert backup["created_by"] == "ops@example.com"

    listed = api.call("list_backups", "GET").get_json()
    assert [b["id"] for b in listed["backups"]] == [backup["id"]]
    shown = api.call("list_backups", "GET", query={"id": backup["id"]}).get_json()["backup"]
    assert shown == listed["backups"][0]

    download = api.call("download_backup", "GET", query={"id": backup["id"]})
    assert download.status_code == 200
    assert download.headers["X-Backup-SHA256"] == backup["sha256"]
    assert int(download.headers["X-Backup-Size"]) == backup["file_size"] == len(download.data)
    assert "Content-Length" not in download.headers  # streamed: Cloud Run caps non-streamed responses
    assert hashlib.sha256(download.data).hexdigest() == backup["sha256"]
    assert backup["filename"] in download.headers["Content-Disposition"]

    deleted = api.call("delete_backup", body={"id": backup["id"]})
    assert deleted.status_code == 200 and deleted.get_json() == {"deleted": backup["id"]}
    assert api.call("list_backups", "GET", query={"id": backup["id"]}).status_code == 404
    actions = [log.action for log in api.logs() if log.backup_id == backup["id"]]
    assert {AuditAction.CREATE, AuditAction.DOWNLOAD, AuditAction.DELETE} <= set(actions)


def test_restore_needs_matching_confirmation_and_restores(api: Api) -> None:
    backup_id = api.call("create_backup").get_json()["backup"]["id"]
    refused = api.call("restore_backup", body={"id": backup_id, "confirm": "something-else"})
    assert refused.status_code == 400 and "confirm" in refused.get_json()["fields"]
    assert not [log for log in api.logs() if log.action is AuditAction.RESTORE]
    restored = api.call("restore_backup", body={"id": backup_id, "confirm": backup_id})
    assert restored.status_code == 200, restored.get_json()
    assert restored.get_json()["restored"] == backup_id
    assert restored.get_json()["pre_restore_backup_id"] != backup_id


def test_cleanup_dry_run_and_scheduled_cleanup(api: Api) -> None:
    api.call("create_backup")
    dry = api.call("cleanup_backups", body={"dry_run": True})
    assert dry.status_code == 200 and dry.get_json()["dry_run"] is True and dry.get_json()["deleted"] == 0
    scheduled = api.call("scheduled_cleanup", as_="scheduler@demo-test.iam.gserviceaccount.com")
    assert scheduled.status_code == 200 and scheduled.get_json()["dry_run"] is False


def test_settings_put_moves_the_scheduler_job(api: Api, scheduler: FakeCloudScheduler) -> None:
    answer = api.call(
        "backup_settings",
        "PUT",
        body={
            "schedule_enabled": True,
            "schedule_frequency": "weekly",
            "schedule_weekday": 6,
            "schedule_time": "03:45",
            "time_zone": "Europe/Berlin",
        },
    )
    assert answer.status_code == 200, answer.get_json()
    job = scheduler.job(JOB)
    assert (job["schedule"], job["timeZone"], job["state"]) == ("45 3 * * 0", "Europe/Berlin", "ENABLED")
    assert api.call("backup_settings", "GET").get_json()["settings"]["schedule_time"] == "03:45"
    assert api.call("backup_settings", "PUT", body={"schedule_enabled": False}).status_code == 200
    assert scheduler.job(JOB)["state"] == "PAUSED"


def test_failed_backup_answers_500_with_the_reason_and_no_secret(api: Api) -> None:
    from tests.databases import mysql_admin

    with mysql_admin() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE `{api.database.database}`")
    answer = api.call("create_backup")
    assert answer.status_code == 500
    message = answer.get_json()["error"]
    assert api.database.database in message and "reference" in message
    assert [b.status.value for b in api.runtime.context.catalog.list_backups().backups] == ["failed"]
    with mysql_admin() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{api.database.database}`")


def test_misconfiguration_is_a_500_that_tells_callers_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.reset()
    monkeypatch.setenv("BACKUP_HOME", str(tmp_path))
    monkeypatch.delenv("BACKUP_AUTH_AUDIENCE", raising=False)
    monkeypatch.delenv("BACKUP_AUTH_DISABLED", raising=False)
    answer = client_for("list_backups").get("/list_backups")
    assert answer.status_code == 500
    assert "misconfigured" in answer.get_json()["error"]
    assert "BACKUP_" not in answer.get_json()["error"]
    runtime.reset()
