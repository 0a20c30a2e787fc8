"""A catalog that does not answer (Firestore unreachable) is a 503 with Retry-After, within the catalog's
deadline, saying what could not be done: a client or Scheduler tries again later; it is no 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from functions import runtime
from shared.dburl import DatabaseURL
from tests.catalog.test_firestore_deadlines import closed_port as closed_port
from tests.emulators.firestore import PROJECT
from tests.fakes.certs_server import CertsServer
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.functions.conftest import Api, client_for, make_api
from tests.functions.test_scheduled_properties import MAX_RETRIES, attempt

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


def test_an_instance_that_starts_while_the_catalog_is_unreachable_is_unavailable_not_misconfigured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: str
) -> None:
    """With Drive in the storages, an instance reads the settings as it starts; a Firestore outage then is
    a 503 like any other, and the instance starts once it answers."""
    runtime.reset()
    for name, value in {
        "BACKUP_HOME": str(tmp_path),
        "BACKUP_AUTH_DISABLED": "true",
        "BACKUP_CATALOG": "firestore",
        "BACKUP_GCP_PROJECT": PROJECT,
        "BACKUP_FIRESTORE_EMULATOR_HOST": closed_port,
        "BACKUP_CATALOG_TIMEOUT_SECONDS": "1",
        "BACKUP_STORAGE": "drive",
    }.items():
        monkeypatch.setenv(name, value)
    answer = client_for("list_backups").get("/list_backups")
    assert answer.status_code == 503, answer.get_json()
    assert answer.headers["Retry-After"] == "30"
    assert f"{UNANSWERED} reading the settings" in answer.get_json()["error"]
    runtime.reset()
