"""Settings keep the Scheduler backup and cleanup jobs in step; a failure anywhere leaves nothing
half-saved; one save at a time; Drive credentials are checked and go to the secrets store only; the
functions use changed Drive settings at once, in every instance."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import TestResponse

from functions import runtime
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import BusyError
from shared.models import AuditAction, BackupLog, BackupSettings
from shared.schedule_sync import SchedulerJobs, ScheduleSpec, ScheduleSync
from shared.services.settings import SAVE_LOCK, SAVE_LOCK_TTL, SettingsService
from tests.databases import limited_user
from tests.fakes.certs_server import CertsServer
from tests.fakes.drive_fixtures import drive_fake as drive_fake
from tests.fakes.drive_server import DriveFake
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.functions.conftest import JOB, Api, make_api
from tests.functions.test_scheduled_skip import world as world

CHANGE = {"schedule_enabled": True, "schedule_time": "04:30", "time_zone": "Asia/Tokyo"}
CREDENTIALS = json.dumps({"client_id": "cid", "client_secret": "very-secret-value", "refresh_token": "rt-42"})
CLEANUP_JOB = "projects/demo-test/locations/europe-west1/jobs/database-cleanup"
RETENTION_OFF = {"retention_daily": 0, "retention_weekly": 0, "retention_monthly": 0}


def _settings_changes(api: Api) -> int:
    """Saves audited as made (a refused or failed one has an `outcome`)."""
    return sum("outcome" not in log.details for log in _saves(api))


def _unsaved(api: Api) -> list[dict[str, Any]]:
    """The details of the saves audited as refused or failed, oldest first."""
    return [log.details for log in reversed(_saves(api)) if "outcome" in log.details]


def _saves(api: Api) -> list[BackupLog]:
    return [log for log in api.logs() if log.action is AuditAction.SETTINGS_CHANGE]


def _tests_audited(api: Api, action: AuditAction) -> list[str]:
    """The outcome of each audited test, oldest first."""
    return [str(log.details["outcome"]) for log in reversed(api.logs()) if log.action is action]


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
    unsaved = _unsaved(api)
    assert [entry["outcome"] for entry in unsaved] == ["failed"] * 3
    assert all("Cloud Scheduler job" in entry["error"] for entry in unsaved), unsaved
    assert [entry.get("jobs_put_back") for entry in unsaved] == [{"backup": True}, {"backup": True}, None]


def test_a_save_answers_the_settings_as_stored(world: Api) -> None:
    answer = world.call("backup_settings", "PUT", body=CHANGE)
    assert answer.status_code == 200, answer.get_json()

    shown = world.call("backup_settings", "GET").get_json()["settings"]
    assert answer.get_json()["settings"] == shown
    assert shown["updated_at"] is not None and shown["time_zone"] == "Asia/Tokyo"


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
    [failed] = _unsaved(api)
    assert failed["outcome"] == "failed" and failed["jobs_put_back"] == {"backup": True}
    assert "very-secret-value" not in json.dumps(failed)


def test_a_put_back_that_fails_is_audited_and_logged_critical(
    tmp_path: Path,
    mysql_db: DatabaseURL,
    certs: CertsServer,
    scheduler: FakeCloudScheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = make_api(tmp_path / "h", mysql_db, certs, scheduler, extra={"BACKUP_SECRETS": "env"})  # read-only
    scheduler.fail("pause")  # the save resumes the job; putting it back pauses it
    with caplog.at_level(logging.CRITICAL, logger="backup.settings"):
        answer = api.call("backup_settings", "PUT", body={**CHANGE, "drive_credentials": CREDENTIALS})
    assert answer.status_code == 500 and "could not be put back" in answer.get_json()["error"]
    assert api.runtime.context.catalog.get_settings() == BackupSettings()  # schedule_enabled false
    job = scheduler.job(JOB)
    assert (job["schedule"], job["timeZone"], job["state"]) == ("0 2 * * *", "UTC", "ENABLED")
    [failed] = _unsaved(api)
    assert failed["outcome"] == "failed" and failed["jobs_put_back"] == {"backup": False}
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert JOB in line and "OUT OF STEP" in line, line
    assert "now schedule '0 2 * * *' in time zone UTC, ENABLED" in line
    assert "settings want schedule '0 2 * * *' in time zone UTC, PAUSED" in line
    assert "very-secret-value" not in line
    runtime.reset()


def test_test_drive_without_drive_is_a_clear_400(api: Api) -> None:
    answer = api.call("backup_settings", "POST", body={"action": "test_drive"})
    assert answer.status_code == 400 and "Drive" in answer.get_json()["error"]
    assert _tests_audited(api, AuditAction.TEST_DRIVE) == ["not configured"]


def test_test_database_checks_the_database_and_takes_no_backup(api: Api) -> None:
    answer = api.call("backup_settings", "POST", body={"action": "test_database"})
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()
    assert found["ok"] is True and found["restore_ok"] is True and found["engine"] == "mysql"
    assert api.call("list_backups").get_json()["backups"] == []
    [entry] = [log for log in api.logs() if log.action is AuditAction.TEST_DATABASE]
    assert entry.actor == "ops@example.com"
    assert entry.details == {"outcome": "passed", "message": found["message"]}


def test_test_database_names_the_grant_a_backup_user_lacks(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer, scheduler: FakeCloudScheduler
) -> None:
    with limited_user(mysql_db.database, [f"SELECT, TRIGGER ON `{mysql_db.database}`.*"]) as (user, password):
        url = f"mysql://{user}:{password}@{mysql_db.host}:{mysql_db.port}/{mysql_db.database}"
        api = make_api(tmp_path / "home", mysql_db, certs, scheduler, extra={"BACKUP_DATABASE_URL": url})
        try:
            answer = api.call("backup_settings", "POST", body={"action": "test_database"})
            audited = [log.details for log in api.logs() if log.action is AuditAction.TEST_DATABASE]
        finally:
            runtime.reset()
    assert answer.status_code == 200, answer.get_json()
    found = answer.get_json()
    assert found["ok"] is False and found["restore_ok"] is None  # the backup check failed first
    assert f"GRANT EVENT ON `{mysql_db.database}`.* TO '{user}'@'%';" in found["message"]
    assert password not in json.dumps(found)
    assert audited == [{"outcome": "failed", "message": found["message"]}]
    assert password not in json.dumps(audited)


# --- the cleanup job ---------------------------------------------------------------------------------


@pytest.fixture
def both_jobs(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer, scheduler: FakeCloudScheduler
) -> Iterator[Api]:
    api = make_api(
        tmp_path / "home", mysql_db, certs, scheduler, extra={"BACKUP_SCHEDULER_CLEANUP_JOB": CLEANUP_JOB}
    )
    scheduler.put_job(CLEANUP_JOB, schedule="30 4 * * *")  # as Terraform creates it
    scheduler.put_job(JOB)  # clears the recorded calls again
    yield api
    runtime.reset()


def _state(scheduler: FakeCloudScheduler, job: str) -> tuple[str, str, str]:
    found = scheduler.job(job)
    return found["schedule"], found["timeZone"], found["state"]


def test_saving_keeps_the_cleanup_job_in_step(both_jobs: Api, scheduler: FakeCloudScheduler) -> None:
    assert both_jobs.call("backup_settings", "PUT", body=CHANGE).status_code == 200
    assert _state(scheduler, JOB) == ("30 4 * * *", "Asia/Tokyo", "ENABLED")
    assert _state(scheduler, CLEANUP_JOB) == ("30 4 * * *", "Asia/Tokyo", "ENABLED")  # its own cron
    entry = next(log for log in both_jobs.logs() if log.action is AuditAction.SETTINGS_CHANGE)
    cleanup = {"cron": "30 4 * * *", "time_zone": "Asia/Tokyo", "paused": False}
    assert entry.details["cleanup_schedule"] == cleanup

    assert both_jobs.call("backup_settings", "PUT", body=RETENTION_OFF).status_code == 200
    assert _state(scheduler, JOB)[2] == "ENABLED"
    assert _state(scheduler, CLEANUP_JOB)[2] == "PAUSED"  # a cleanup would delete nothing

    both_jobs.call("backup_settings", "PUT", body={"retention_daily": 7, "schedule_enabled": False})
    assert _state(scheduler, JOB)[2] == "PAUSED"
    assert _state(scheduler, CLEANUP_JOB)[2] == "ENABLED"  # manual backups need retention too


def test_a_failed_cleanup_job_update_puts_both_jobs_back(
    both_jobs: Api, scheduler: FakeCloudScheduler
) -> None:
    both_jobs.call("backup_settings", "PUT", body={"schedule_enabled": True, **RETENTION_OFF})
    before = both_jobs.runtime.context.catalog.get_settings()
    jobs_before = _state(scheduler, JOB), _state(scheduler, CLEANUP_JOB)
    assert jobs_before == (("0 2 * * *", "UTC", "ENABLED"), ("30 4 * * *", "UTC", "PAUSED"))
    scheduler.fail("resume")  # the backup job stays enabled; only the cleanup job is resumed
    answer = both_jobs.call("backup_settings", "PUT", body={"time_zone": "Asia/Tokyo", "retention_daily": 7})
    assert answer.status_code == 500 and CLEANUP_JOB in answer.get_json()["error"]
    assert (_state(scheduler, JOB), _state(scheduler, CLEANUP_JOB)) == jobs_before
    assert both_jobs.runtime.context.catalog.get_settings() == before
    assert _settings_changes(both_jobs) == 1
    [failed] = _unsaved(both_jobs)
    assert failed["jobs_put_back"] == {"cleanup": True, "backup": True}


def test_a_failed_save_puts_both_jobs_back(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer, scheduler: FakeCloudScheduler
) -> None:
    extra = {"BACKUP_SECRETS": "env", "BACKUP_SCHEDULER_CLEANUP_JOB": CLEANUP_JOB}  # env secrets: read-only
    api = make_api(tmp_path / "h", mysql_db, certs, scheduler, extra=extra)
    scheduler.put_job(CLEANUP_JOB, schedule="30 4 * * *")
    answer = api.call("backup_settings", "PUT", body={**CHANGE, "drive_credentials": CREDENTIALS})
    assert answer.status_code == 500
    assert _state(scheduler, JOB) == ("0 2 * * *", "UTC", "PAUSED")
    assert _state(scheduler, CLEANUP_JOB) == ("30 4 * * *", "UTC", "PAUSED")
    patched = [call.path.rsplit("/", 1)[-1] for call in scheduler.calls if call.method == "PATCH"]
    assert patched == ["database-backup", "database-cleanup", "database-cleanup", "database-backup"]
    assert api.runtime.context.catalog.get_settings() == BackupSettings()
    runtime.reset()


# --- one save at a time ------------------------------------------------------------------------------


def test_a_save_while_another_holds_the_lock_is_busy(api: Api, scheduler: FakeCloudScheduler) -> None:
    ctx = api.runtime.context
    assert ctx.catalog.acquire_lock(SAVE_LOCK, "another-save", ctx.clock.now(), SAVE_LOCK_TTL)
    answer = api.call("backup_settings", "PUT", body=CHANGE)
    assert answer.status_code == 409 and "another settings save" in answer.get_json()["error"]
    assert not [call for call in scheduler.calls if call.method != "GET"]
    assert ctx.catalog.get_settings() == BackupSettings()
    [refused] = _unsaved(api)
    assert refused["outcome"] == "refused" and "another settings save" in refused["error"]
    ctx.catalog.release_lock(SAVE_LOCK, "another-save")
    assert api.call("backup_settings", "PUT", body=CHANGE).status_code == 200


class _SaveDuringWrite:
    """The real Scheduler job, and a second save started while the first is between writing the job and
    saving the settings (the audit's race)."""

    def __init__(self, job: ScheduleSync) -> None:
        self.job = job
        self.second_save: Callable[[], object] | None = None
        self.second_refused: BusyError | None = None

    def read(self) -> ScheduleSpec | None:
        return self.job.read()

    def write(self, spec: ScheduleSpec) -> None:
        self.job.write(spec)
        save, self.second_save = self.second_save, None
        if save is not None:
            try:
                save()
            except BusyError as exc:
                self.second_refused = exc


def test_concurrent_saves_cannot_interleave(api: Api, scheduler: FakeCloudScheduler) -> None:
    job = _SaveDuringWrite(api.runtime.schedule.backup)
    service = SettingsService(api.runtime.context, SchedulerJobs(backup=job))
    job.second_save = lambda: service.update({"schedule_time": "05:00"}, "admin-b")
    service.update({"schedule_enabled": True, "schedule_time": "04:00"}, "admin-a")
    assert job.second_refused is not None
    stored = api.runtime.context.catalog.get_settings()
    assert (stored.schedule_enabled, stored.schedule_time) == (True, "04:00")
    assert _state(scheduler, JOB) == ("0 4 * * *", "UTC", "ENABLED")


# --- Drive credentials are checked -------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials", ["oops", "{}", "", "[]", '{"client_id": "c", "client_secret": "very-secret-value"}']
)
def test_unusable_drive_credentials_are_refused_before_anything_changes(
    api: Api, scheduler: FakeCloudScheduler, credentials: str
) -> None:
    answer = api.call("backup_settings", "PUT", body={**CHANGE, "drive_credentials": credentials})
    assert answer.status_code == 400, answer.get_json()
    assert "client_id, client_secret and refresh_token" in answer.get_json()["fields"]["drive_credentials"]
    text = answer.get_data(as_text=True)
    assert "very-secret-value" not in text and "oops" not in text
    assert not (Path(api.env["BACKUP_SECRETS_DIR"]) / "drive-oauth").exists()
    assert not [call for call in scheduler.calls if call.method != "GET"]
    assert api.runtime.context.catalog.get_settings() == BackupSettings()


# --- Drive settings take effect at once, in every instance -------------------------------------------


def _oauth(fake: DriveFake, refresh_token: str | None = None) -> str:
    token = refresh_token or fake.refresh_token
    fields = {"client_id": "cid", "client_secret": "cs", "refresh_token": token, "token_uri": fake.token_uri}
    return json.dumps(fields)


@pytest.fixture
def with_drive(
    tmp_path: Path,
    mysql_db: DatabaseURL,
    certs: CertsServer,
    scheduler: FakeCloudScheduler,
    drive_fake: DriveFake,
) -> Iterator[Callable[[str], Api]]:
    """Makes the functions with `BACKUP_STORAGE` as given (Drive in it), Drive switched off in the
    settings, the refresh token in the secrets folder."""

    def make(storage: str) -> Api:
        drive_fake.reset()
        home = tmp_path / "home"
        home.mkdir()
        (home / "drive-oauth").write_text(_oauth(drive_fake))
        extra = {
            "BACKUP_STORAGE": storage,
            "BACKUP_DRIVE_CREDENTIALS": "oauth",
            "BACKUP_DRIVE_ENDPOINT": drive_fake.api_endpoint,
            "BACKUP_DRIVE_CA_CERTS": str(drive_fake.tls.cert_path),
            "BACKUP_DRIVE_FOLDER_ID": drive_fake.add_folder("fallback"),
        }
        return make_api(home, mysql_db, certs, scheduler, extra=extra)

    yield make
    runtime.reset()


@pytest.fixture
def drive_api(with_drive: Callable[[str], Api]) -> Api:
    return with_drive("local,drive")


def _test_drive(api: Api) -> dict[str, object]:
    answer = api.call("backup_settings", "POST", body={"action": "test_drive"})
    assert answer.status_code == 200, answer.get_json()
    found: dict[str, object] = answer.get_json()
    return found


def test_drive_settings_take_effect_in_the_saving_instance(drive_api: Api, drive_fake: DriveFake) -> None:
    assert _test_drive(drive_api)["enabled_for_new_backups"] is False
    folder = drive_fake.add_folder("chosen")
    answer = drive_api.call(
        "backup_settings", "PUT", body={"google_drive_enabled": True, "google_drive_folder_id": folder}
    )
    assert answer.status_code == 200, answer.get_json()
    assert _test_drive(drive_api)["enabled_for_new_backups"] is True
    backup = drive_api.call("create_backup").get_json()["backup"]
    assert {location["kind"] for location in backup["locations"]} == {"local", "drive"}
    assert [file.name for file in drive_fake.files_in(folder)], "the backup went to the new folder"

    revoked = _oauth(drive_fake, refresh_token="an-old-token")
    assert drive_api.call("backup_settings", "PUT", body={"drive_credentials": revoked}).status_code == 200
    check = _test_drive(drive_api)
    assert check["reachable"] is False and "refresh token" in str(check["message"])
    assert _tests_audited(drive_api, AuditAction.TEST_DRIVE) == ["passed", "passed", "failed"]


def test_drive_settings_take_effect_in_other_instances(drive_api: Api, drive_fake: DriveFake) -> None:
    other = runtime.Runtime.from_config(Config.from_env(drive_api.env))  # another warm instance
    folder = drive_fake.add_folder("chosen")
    body = {"google_drive_enabled": True, "google_drive_folder_id": folder}
    assert drive_api.call("backup_settings", "PUT", body=body).status_code == 200
    runtime.install(other)
    assert _test_drive(drive_api)["enabled_for_new_backups"] is True
    backup = drive_api.call("create_backup").get_json()["backup"]
    assert "drive" in {location["kind"] for location in backup["locations"]}
    assert drive_fake.files_in(folder)


def test_clearing_the_only_drive_folder_is_refused(drive_api: Api, drive_fake: DriveFake) -> None:
    chosen = {"google_drive_folder_id": drive_fake.add_folder("chosen")}
    assert drive_api.call("backup_settings", "PUT", body=chosen).status_code == 200
    no_fallback = Config.from_env({**drive_api.env, "BACKUP_DRIVE_FOLDER_ID": ""})
    runtime.install(runtime.Runtime.from_config(no_fallback))
    answer = drive_api.call("backup_settings", "PUT", body={"google_drive_folder_id": None})
    assert answer.status_code == 400, answer.get_json()
    assert "BACKUP_DRIVE_FOLDER_ID" in answer.get_json()["fields"]["google_drive_folder_id"]
    assert _test_drive(drive_api)["reachable"] is True  # the next cold start would still work


def _drive_switch(api: Api, enabled: bool, folder: str) -> TestResponse:
    return api.call(
        "backup_settings", "PUT", body={"google_drive_enabled": enabled, "google_drive_folder_id": folder}
    )


def test_turning_drive_on_without_drive_in_the_storage_is_refused(api: Api) -> None:
    before = api.runtime.context.catalog.get_settings()
    answer = _drive_switch(api, True, "a-folder-id-0123")

    assert answer.status_code == 400, answer.get_json()
    message = answer.get_json()["fields"]["google_drive_enabled"]
    assert "BACKUP_STORAGE is local" in message and "local,drive" in message
    assert api.runtime.context.catalog.get_settings() == before and _settings_changes(api) == 0
    assert _unsaved(api) == [], "invalid settings change nothing, so they are not audited"
    assert _drive_switch(api, False, "a-folder-id-0123").status_code == 200


def test_turning_drive_off_when_it_is_the_only_storage_is_refused(
    with_drive: Callable[[str], Api], drive_fake: DriveFake
) -> None:
    drive_only_api = with_drive("drive")
    folder = drive_fake.add_folder("chosen")
    assert _drive_switch(drive_only_api, False, folder).status_code == 200, "the stored value again"
    assert _drive_switch(drive_only_api, True, folder).status_code == 200
    changes = _settings_changes(drive_only_api)
    answer = _drive_switch(drive_only_api, False, folder)

    assert answer.status_code == 400, answer.get_json()
    message = answer.get_json()["fields"]["google_drive_enabled"]
    assert "BACKUP_STORAGE is drive" in message and "local,drive" in message
    assert _settings_changes(drive_only_api) == changes
