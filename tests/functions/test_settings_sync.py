"""Settings keep the Scheduler job in step; a failure anywhere leaves neither half-saved; Drive
credentials go to the secrets store only."""

from __future__ import annotations

import json
from pathlib import Path

from shared.dburl import DatabaseURL
from shared.models import AuditAction
from tests.fakes.certs_server import CertsServer
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.functions.conftest import JOB, Api, make_api

CHANGE = {"schedule_enabled": True, "schedule_time": "04:30", "time_zone": "Asia/Tokyo"}
CREDENTIALS = json.dumps({"client_id": "cid", "client_secret": "very-secret-value", "refresh_token": "rt-42"})


def _settings_changes(api: Api) -> int:
    return sum(log.action is AuditAction.SETTINGS_CHANGE for log in api.logs())


def test_scheduler_failure_saves_nothing(api: Api, scheduler: FakeCloudScheduler) -> None:
    before = api.runtime.context.catalog.get_settings()
    for verb, status in (("patch", 503), ("resume", 503), ("get", 403)):  # get retries a 503 by itself
        scheduler.put_job(JOB)
        scheduler.fail(verb, status)
        answer = api.call("backup_settings", "PUT", body=CHANGE)
        assert answer.status_code == 500, (verb, answer.get_json())
        assert "Cloud Scheduler job" in answer.get_json()["error"]
        assert api.runtime.context.catalog.get_settings() == before
        job = scheduler.job(JOB)
        assert (job["schedule"], job["timeZone"], job["state"]) == ("0 2 * * *", "UTC", "PAUSED"), verb
    assert _settings_changes(api) == 0


def test_missing_job_is_named_in_the_error(api: Api, scheduler: FakeCloudScheduler) -> None:
    scheduler.jobs.clear()
    answer = api.call("backup_settings", "PUT", body=CHANGE)
    assert answer.status_code == 500 and JOB in answer.get_json()["error"]


def test_drive_credentials_go_to_the_secrets_store_only(api: Api, scheduler: FakeCloudScheduler) -> None:
    answer = api.call("backup_settings", "PUT", body={**CHANGE, "drive_credentials": CREDENTIALS})
    assert answer.status_code == 200, answer.get_json()
    home = Path(api.env["BACKUP_SECRETS_DIR"])
    assert (home / "drive-oauth").read_text() == CREDENTIALS
    assert "very-secret-value" not in answer.get_data(as_text=True)
    assert "very-secret-value" not in json.dumps(api.runtime.context.catalog.get_settings().to_dict())
    entry = next(log for log in api.logs() if log.action is AuditAction.SETTINGS_CHANGE)
    assert "very-secret-value" not in json.dumps(entry.details, default=str)
    assert entry.details["changed"]["drive_credentials"].startswith("replaced")
    assert entry.details["changed"]["time_zone"] == {"from": "UTC", "to": "Asia/Tokyo"}
    assert scheduler.job(JOB)["timeZone"] == "Asia/Tokyo"


def test_secret_failure_puts_the_job_back(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer, scheduler: FakeCloudScheduler
) -> None:
    api = make_api(tmp_path / "h", mysql_db, certs, scheduler, extra={"BACKUP_SECRETS": "env"})  # read-only
    before = api.runtime.context.catalog.get_settings()
    answer = api.call("backup_settings", "PUT", body={**CHANGE, "drive_credentials": CREDENTIALS})
    assert answer.status_code == 500
    assert "very-secret-value" not in answer.get_data(as_text=True)
    assert api.runtime.context.catalog.get_settings() == before
    job = scheduler.job(JOB)
    assert (job["schedule"], job["timeZone"], job["state"]) == ("0 2 * * *", "UTC", "PAUSED")
    assert [c.method for c in scheduler.calls].count("PATCH") == 2  # moved, then put back
    assert _settings_changes(api) == 0


def test_test_drive_without_drive_is_a_clear_400(api: Api) -> None:
    answer = api.call("backup_settings", "POST", body={"action": "test_drive"})
    assert answer.status_code == 400 and "Drive" in answer.get_json()["error"]
