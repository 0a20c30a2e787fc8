"""scheduled_backup with `schedule_enabled` off: 200 `skipped` with the reason, no backup and no run claim,
a WARNING log line and an audit entry; once it is on, the same run takes its backup. Settings that cannot
be read fail the call (5xx) and take nothing. On the SQLite catalog and on the Firestore emulator."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from functions import runtime
from functions.scheduled_backup import run_key_for
from functions.scheduled_run import SCHEDULE_OFF_REASON
from shared.dburl import DatabaseURL
from shared.models import AuditAction, BackupLog, BackupSettings, BackupStatus
from shared.notify.base import NotificationKind
from tests.emulators.firestore import FirestoreEmulator
from tests.fakes.certs_server import CertsServer
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.functions.conftest import JOB, SCHEDULER_SA, Api, make_api
from tests.functions.test_openapi import SPEC, _response_schema, _violations
from tests.functions.test_scheduled_properties import MAX_RETRIES, attempt, scheduled

SCHEDULE_TIME = "2026-11-25T02:00:00Z"
RUN_KEY = run_key_for("database-backup", datetime(2026, 11, 25, 2, 0, tzinfo=UTC), None)
UNREADABLE = {"schedule_enabled": True, "schedule_frequency": "fortnightly"}
"""A stored record that says "on" but cannot be read: it must not be taken as on (or off)."""
SCHEDULED_BACKUP = SPEC["paths"]["/scheduled_backup"]["post"]


@pytest.fixture(params=["sqlite", "firestore"])
def world(request: pytest.FixtureRequest) -> Iterator[Api]:
    if request.param == "sqlite":
        yield request.getfixturevalue("api")
        return
    emulator: FirestoreEmulator = request.getfixturevalue("firestore_emulator")
    home: Path = request.getfixturevalue("tmp_path") / "home"
    database: DatabaseURL = request.getfixturevalue("mysql_db")
    certs: CertsServer = request.getfixturevalue("certs")
    scheduler: FakeCloudScheduler = request.getfixturevalue("scheduler")
    extra = {
        "BACKUP_CATALOG": "firestore",
        "BACKUP_GCP_PROJECT": emulator.project,
        "BACKUP_FIRESTORE_EMULATOR_HOST": emulator.host,
        "BACKUP_FIRESTORE_PREFIX": f"t{uuid.uuid4().hex[:10]}_",
    }
    yield make_api(home, database, certs, scheduler, extra=extra)
    runtime.reset()


def settings(api: Api, **changes: object) -> None:
    answer = api.call("backup_settings", "PUT", body=changes)
    assert answer.status_code == 200, answer.get_json()


def skips(api: Api) -> list[BackupLog]:
    creates = [log for log in api.logs() if log.action is AuditAction.CREATE]
    return [log for log in creates if log.details.get("outcome") == "skipped"]


def store_unreadable_settings(api: Api) -> None:
    """Write the settings record behind the catalog's back, as a bad migration or hand edit would."""
    config = api.runtime.config
    if config.catalog == "sqlite":
        with sqlite3.connect(config.catalog_path) as connection:
            connection.execute(
                "INSERT INTO settings (singleton, data) VALUES (1, ?) "
                "ON CONFLICT (singleton) DO UPDATE SET data = excluded.data",
                (json.dumps(UNREADABLE),),
            )
        connection.close()
        return
    emulator = FirestoreEmulator(host=str(config.firestore_emulator_host), project=str(config.gcp_project))
    client = emulator.client()
    try:
        client.collection(f"{config.firestore_prefix}settings").document("current").set(UNREADABLE)
    finally:
        client.close()  # type: ignore[no-untyped-call]


def assert_skipped(answer: TestResponse) -> None:
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body == {"status": "skipped", "reason": SCHEDULE_OFF_REASON}
    assert _violations(body, _response_schema(SCHEDULED_BACKUP, "200")) == []


def test_the_reason_says_how_to_turn_scheduled_backups_on() -> None:
    for needed in ("turned off", "backup_settings", "settings --set schedule_enabled=true", "create_backup"):
        assert needed in SCHEDULE_OFF_REASON


@pytest.mark.parametrize("how", ["never turned on", "turned off by a settings save"])
def test_disabled_schedule_takes_no_backup_and_says_so(
    world: Api, how: str, scheduler: FakeCloudScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    if how == "turned off by a settings save":
        settings(world, schedule_enabled=True)
        settings(world, schedule_enabled=False)
        assert scheduler.job(JOB)["state"] == "PAUSED"
    # The job fires anyway: resumed in the console, forced, queued before the pause, or no job sync at all.
    with caplog.at_level(logging.WARNING, logger="backup.scheduled"):
        answer = attempt(world, SCHEDULE_TIME, 0)

    assert_skipped(answer)
    assert world.runtime.context.catalog.list_backups(limit=1000).backups == []
    [entry] = skips(world)
    assert entry.actor == SCHEDULER_SA and entry.backup_id is None
    assert entry.details == {
        "outcome": "skipped",
        "reason": SCHEDULE_OFF_REASON,
        "source": "scheduled",
        "run_key": RUN_KEY,
        "scheduled_for": "2026-11-25T02:00:00+00:00",
        "retry_count": 0,
    }
    warnings = [r for r in caplog.records if r.name == "backup.scheduled" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and RUN_KEY in warnings[0].getMessage()
    assert "schedule_enabled is false" in warnings[0].getMessage()
    assert world.notifier.sent == []


def test_a_manual_run_is_skipped_too(api: Api) -> None:
    answer = api.call("scheduled_backup", body={"run_key": "ops-2026-11-25"}, as_=SCHEDULER_SA)
    assert_skipped(answer)
    [entry] = skips(api)
    assert entry.details["run_key"] == run_key_for(None, None, "ops-2026-11-25")
    assert entry.details["scheduled_for"] is None and entry.details["retry_count"] is None
    assert api.runtime.context.catalog.list_backups(limit=1000).backups == []


def test_enabled_schedule_backs_up_as_before(schedule_on: Api) -> None:
    api = schedule_on
    answer = attempt(api, SCHEDULE_TIME, 0)
    assert answer.status_code == 201, answer.get_json()
    made = answer.get_json()["backup"]["id"]
    assert scheduled(api, BackupStatus.COMPLETED) == [made]
    assert skips(api) == []
    created = [log for log in api.logs() if log.action is AuditAction.CREATE]
    assert [(log.backup_id, log.details["source"]) for log in created] == [(made, "scheduled")]


def test_a_skipped_run_retried_after_turning_the_schedule_on_takes_its_backup(world: Api) -> None:
    """The skip claims nothing, so the same run (same key) runs once the schedule is on, and only once."""
    assert_skipped(attempt(world, SCHEDULE_TIME, 0))
    settings(world, schedule_enabled=True)

    retried = attempt(world, SCHEDULE_TIME, 1)
    again = attempt(world, SCHEDULE_TIME, 2)

    assert retried.status_code == 201, retried.get_json()
    made = retried.get_json()["backup"]["id"]
    assert again.status_code == 200 and again.get_json() == {"status": "already_done", "backup_id": made}
    assert scheduled(world, BackupStatus.COMPLETED) == [made]
    assert len(skips(world)) == 1


def test_unreadable_settings_fail_the_run_and_take_nothing(world: Api) -> None:
    settings(world, schedule_enabled=True)
    store_unreadable_settings(world)

    answer = attempt(world, SCHEDULE_TIME, 0)

    assert answer.status_code == 500, answer.get_json()
    assert _violations(answer.get_json(), _response_schema(SCHEDULED_BACKUP, "500")) == []
    assert answer.headers["X-Backup-Attempt"] == "1" and answer.headers["X-Backup-Final-Attempt"] == "false"
    assert world.runtime.context.catalog.list_backups(limit=1000).backups == []
    assert skips(world) == [] and world.notifier.sent == []  # Scheduler tries again
    # Nothing was claimed either: once the settings can be read, Scheduler's retry takes the backup.
    world.runtime.context.catalog.save_settings(BackupSettings(schedule_enabled=True))
    retried = attempt(world, SCHEDULE_TIME, 1)
    assert retried.status_code == 201, retried.get_json()
    assert scheduled(world, BackupStatus.COMPLETED) == [retried.get_json()["backup"]["id"]]


def test_unreadable_settings_on_the_last_attempt_send_the_failure_mail(world: Api) -> None:
    """Scheduler will not try again: the run failed without a backup, and someone must hear of it."""
    store_unreadable_settings(world)

    answer = attempt(world, SCHEDULE_TIME, MAX_RETRIES)

    assert answer.status_code == 500, answer.get_json()
    assert answer.headers["X-Backup-Final-Attempt"] == "true"
    [mail] = world.notifier.sent
    assert mail.kind is NotificationKind.SCHEDULED_BACKUP_FAILED and "fortnightly" in mail.error
    assert world.runtime.context.catalog.list_backups(limit=1000).backups == []
