"""A catalog that does not answer (Firestore unreachable) is a 503 with Retry-After, within the catalog's
deadline, saying what could not be done: a client or Scheduler tries again later; it is no 500."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from functions import runtime
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import CatalogUnavailableError
from shared.models import BackupSettings, StorageKind
from shared.wiring import NOT_FROM_SETTINGS
from tests.catalog.test_firestore_deadlines import closed_port as closed_port
from tests.emulators.firestore import PROJECT
from tests.fakes.certs_server import CertsServer
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.fakes.tcp_proxy import CuttableProxy
from tests.functions.conftest import SCHEDULER_SA, Api, client_for, make_api
from tests.functions.test_scheduled_properties import MAX_RETRIES, attempt
from tests.notify.test_recipients_in_an_outage import proxy as proxy

UNANSWERED = "the catalog (Firestore) did not answer within 1 s while"


@pytest.fixture
def cut_off(
    tmp_path: Path, mysql_db: DatabaseURL, certs: CertsServer, scheduler: FakeCloudScheduler, closed_port: str
) -> Iterator[Api]:
    extra = {
        "BACKUP_CATALOG": "firestore",
        "BACKUP_GCP_PROJECT": PROJECT,
        "BACKUP_FIRESTORE_EMULATOR_HOST": closed_port,
        "BACKUP_CATALOG_TIMEOUT_SECONDS": "1",
    }
    yield make_api(tmp_path / "home", mysql_db, certs, scheduler, extra=extra)
    runtime.reset()


def test_listing_backups_without_a_catalog_is_unavailable_for_now(cut_off: Api) -> None:
    answer = cut_off.call("list_backups", "GET")
    assert answer.status_code == 503, answer.get_json()
    assert answer.headers["Retry-After"] == "30"
    assert f"{UNANSWERED} listing backups" in answer.get_json()["error"]


def test_a_scheduled_run_without_a_catalog_is_unavailable_and_its_last_attempt_mailed(cut_off: Api) -> None:
    first = attempt(cut_off, "2026-11-25T02:00:00Z", 0)
    assert first.status_code == 503, first.get_json()
    assert first.headers["X-Backup-Final-Attempt"] == "false" and cut_off.notifier.sent == []

    last = attempt(cut_off, "2026-11-25T02:00:00Z", MAX_RETRIES)
    assert last.status_code == 503 and last.headers["X-Backup-Final-Attempt"] == "true"
    [mail] = cut_off.notifier.sent
    assert f"{UNANSWERED} reading the settings" in mail.error


def test_a_scheduled_cleanup_without_a_catalog_is_unavailable_with_the_attempt_headers(cut_off: Api) -> None:
    headers = {
        "X-CloudScheduler-JobName": "database-cleanup",
        "X-CloudScheduler-ScheduleTime": "2026-11-28T03:30:00Z",
        "X-CloudScheduler-RetryCount": str(MAX_RETRIES),
    }
    answer = cut_off.call("scheduled_cleanup", headers=headers, as_=SCHEDULER_SA)

    assert answer.status_code == 503, answer.get_json()
    assert answer.headers["Retry-After"] == "30" and UNANSWERED in answer.get_json()["error"]
    assert answer.headers["X-Backup-Attempt"] == str(MAX_RETRIES + 1)
    assert answer.headers["X-Backup-Final-Attempt"] == "true"


def test_an_instance_that_starts_while_the_catalog_is_unreachable_still_counts_scheduled_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: str
) -> None:
    """With Drive in the storages, an instance reads the settings as it starts. During a Firestore outage it
    starts without them (the storages as configured) instead of failing as misconfigured, so a scheduled
    call is an attempt like any other: 503 with the attempt headers, and the last one is mailed."""
    runtime.reset()
    for name, value in {
        "BACKUP_HOME": str(tmp_path),
        "BACKUP_AUTH_DISABLED": "true",
        "BACKUP_CATALOG": "firestore",
        "BACKUP_GCP_PROJECT": PROJECT,
        "BACKUP_FIRESTORE_EMULATOR_HOST": closed_port,
        "BACKUP_CATALOG_TIMEOUT_SECONDS": "1",
        "BACKUP_STORAGE": "drive",
        "BACKUP_DRIVE_FOLDER_ID": "backups-folder",
        "BACKUP_DRIVE_ENDPOINT": "https://127.0.0.1:9/drive/v3/",
    }.items():
        monkeypatch.setenv(name, value)
    headers = {
        "X-CloudScheduler-JobName": "database-backup",
        "X-CloudScheduler-ScheduleTime": "2026-11-25T02:00:00Z",
        "X-CloudScheduler-RetryCount": str(MAX_RETRIES),
    }
    try:
        answer = client_for("scheduled_backup").post("/scheduled_backup", headers=headers)
        listed = client_for("list_backups").get("/list_backups")
    finally:
        runtime.reset()
    assert answer.status_code == 503, answer.get_json()
    assert answer.headers["X-Backup-Final-Attempt"] == "true" and answer.headers["Retry-After"] == "30"
    assert f"{UNANSWERED} reading the settings" in answer.get_json()["error"]
    assert listed.status_code == 503 and f"{UNANSWERED} listing backups" in listed.get_json()["error"]


def test_an_instance_started_without_the_settings_follows_them_once_the_catalog_answers(
    tmp_path: Path, proxy: CuttableProxy
) -> None:
    proxy.cut()
    config = Config.from_env({
        "BACKUP_HOME": str(tmp_path),
        "BACKUP_AUTH_DISABLED": "true",
        "BACKUP_CATALOG": "firestore",
        "BACKUP_GCP_PROJECT": PROJECT,
        "BACKUP_FIRESTORE_EMULATOR_HOST": proxy.host,
        "BACKUP_FIRESTORE_PREFIX": f"o{uuid.uuid4().hex[:8]}_",
        "BACKUP_CATALOG_TIMEOUT_SECONDS": "5",
        "BACKUP_STORAGE": "local,drive",
        "BACKUP_DRIVE_FOLDER_ID": "backups-folder",
        "BACKUP_DRIVE_ENDPOINT": "https://127.0.0.1:9/drive/v3/",
    })
    started = runtime.Runtime.from_config(config)
    assert started.storages_from == NOT_FROM_SETTINGS
    assert started.context.targets == (StorageKind.LOCAL,)  # Drive as a target is the settings' to say

    proxy.restore()
    _once_it_answers(lambda: started.context.catalog.save_settings(BackupSettings(google_drive_enabled=True)))
    started.follow_settings()

    assert started.storages_from not in (None, NOT_FROM_SETTINGS)
    assert list(started.context.targets) == [StorageKind.LOCAL, StorageKind.DRIVE]


def _once_it_answers(call: Callable[[], None]) -> None:
    """`call`, retried while the client's channel is still backing off from the outage."""
    deadline = time.monotonic() + 60
    while True:
        try:
            call()
            return
        except CatalogUnavailableError:
            if time.monotonic() > deadline:
                raise
