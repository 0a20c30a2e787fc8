"""Property 5 (scheduled backup retry behaviour): Scheduler's retries of one run make at most one backup,
a retry during an attempt is told "in progress", and the failure mail goes out once, after the last try."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from functions.scheduled_backup import run_key_for
from shared.catalog.base import RunClaimState
from shared.models import BackupSource, BackupStatus
from shared.notify.base import NotificationKind
from tests.databases import mysql_admin
from tests.functions.conftest import SCHEDULER_SA, Api

MAX_RETRIES = 3  # the Config default, as Terraform sets it on the job
pytestmark = pytest.mark.usefixtures("schedule_on")  # with it off, runs are skipped: test_scheduled_skip.py


@contextmanager
def database_missing(api: Api) -> Iterator[None]:
    """The configured database is gone for a while (a real failure of the real dump), then comes back."""
    name = api.database.database
    with mysql_admin() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE `{name}`")
    try:
        yield
    finally:
        with mysql_admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"CREATE TABLE `{name}`.items (id INT PRIMARY KEY, name VARCHAR(40))")
            cur.execute(f"INSERT INTO `{name}`.items VALUES (1, 'one')")


def attempt(api: Api, schedule_time: str, retry_count: int | None) -> TestResponse:
    headers = {"X-CloudScheduler-JobName": "database-backup", "X-CloudScheduler-ScheduleTime": schedule_time}
    if retry_count is not None:
        headers["X-CloudScheduler-RetryCount"] = str(retry_count)
    return api.call("scheduled_backup", headers=headers, as_=SCHEDULER_SA)


def scheduled(api: Api, status: BackupStatus) -> list[str]:
    backups = api.runtime.context.catalog.list_backups(limit=1000).backups
    return [b.id for b in backups if b.source is BackupSource.SCHEDULED and b.status is status]


def failure_mails(api: Api) -> int:
    return sum(n.kind is NotificationKind.SCHEDULED_BACKUP_FAILED for n in api.notifier.sent)


@given(
    outcomes=st.lists(st.booleans(), min_size=1, max_size=MAX_RETRIES + 1),
    duplicates=st.integers(min_value=0, max_value=2),
    send_retry_header=st.booleans(),
)
def test_property_5_scheduled_backup_retry_behavior(
    api: Api, outcomes: list[bool], duplicates: int, send_retry_header: bool
) -> None:
    """Scheduler tries until one attempt succeeds or the attempts run out; then duplicates may arrive."""
    schedule_time = f"2026-11-25T02:00:{len(api.notifier.sent) % 60:02d}.{uuid.uuid4().int % 10**6:06d}Z"
    completed_before, mails_before = len(scheduled(api, BackupStatus.COMPLETED)), failure_mails(api)
    attempts = outcomes[: outcomes.index(True) + 1] if True in outcomes else outcomes
    made: str | None = None
    for retry, succeeds in enumerate(attempts):
        header = retry if send_retry_header else None
        if succeeds:
            answer = attempt(api, schedule_time, header)
            assert answer.status_code == 201, answer.get_json()
            made = answer.get_json()["backup"]["id"]
        else:
            with database_missing(api):
                answer = attempt(api, schedule_time, header)
            assert answer.status_code == 500, answer.get_json()  # non-2xx: Scheduler retries
            is_last = retry == MAX_RETRIES
            assert answer.headers["X-Backup-Final-Attempt"] == ("true" if is_last else "false")
    for _ in range(duplicates if made is not None else 0):  # Scheduler stops after a success or the last try
        again = attempt(api, schedule_time, len(attempts))
        assert again.status_code == 200 and again.get_json() == {"status": "already_done", "backup_id": made}
    completed = scheduled(api, BackupStatus.COMPLETED)
    assert len(completed) == completed_before + (1 if made else 0)
    all_failed = made is None and len(attempts) == MAX_RETRIES + 1
    assert failure_mails(api) == mails_before + (1 if all_failed else 0)


def test_retry_while_an_attempt_runs_answers_in_progress(api: Api) -> None:
    """The first attempt holds the run (as the catalog sees it) → a retry gets 409 and makes nothing."""
    ctx = api.runtime.context
    first = attempt(api, "2026-11-25T03:00:00Z", 0)
    assert first.status_code == 201
    # Now hold a fresh run's claim as another (still running) attempt would.
    key = run_key_for("database-backup", datetime(2026, 11, 26, 3, 0, tzinfo=UTC), None)
    claim = ctx.catalog.claim_run(key, "another-attempt", ctx.clock.now(), timedelta(minutes=5))
    assert claim.state is RunClaimState.CLAIMED
    retry = attempt(api, "2026-11-26T03:00:00Z", 1)
    assert retry.status_code == 409 and retry.get_json()["status"] == "in_progress"
    assert len(scheduled(api, BackupStatus.COMPLETED)) == 1


@pytest.mark.parametrize("send_retry_header", [False, True])
def test_the_last_retry_mails_when_a_crashed_attempt_still_holds_the_run(
    api: Api, send_retry_header: bool
) -> None:
    """Attempt 1 died holding the claim (an OOM, a lost instance): its claim outlives Scheduler's retries,
    which are all refused. The last one must say so, or the run is lost without a word."""
    ctx = api.runtime.context
    key = run_key_for("database-backup", datetime(2026, 11, 27, 3, 0, tzinfo=UTC), None)
    assert ctx.catalog.claim_run(key, "crashed-attempt", ctx.clock.now(), timedelta(minutes=10)).claimed
    mails_before = failure_mails(api)
    for retry in range(1, MAX_RETRIES + 1):
        answer = attempt(api, "2026-11-27T03:00:00Z", retry if send_retry_header else None)
        assert answer.status_code == 409 and answer.get_json()["status"] == "in_progress"
        is_last = retry == MAX_RETRIES
        assert answer.headers["X-Backup-Attempt"] == str(retry + 1)
        assert answer.headers["X-Backup-Final-Attempt"] == ("true" if is_last else "false")
        assert failure_mails(api) == mails_before + (1 if is_last else 0)
    [mail] = [n for n in api.notifier.sent if n.kind is NotificationKind.SCHEDULED_BACKUP_FAILED][-1:]
    assert "still holding it, so it took no backup" in mail.error and "create_backup" in mail.error
    assert scheduled(api, BackupStatus.COMPLETED) == []


def test_concurrent_duplicates_make_one_backup(api: Api) -> None:
    answers: list[TestResponse] = []
    lock = threading.Lock()

    def fire() -> None:
        response = attempt(api, "2026-11-25T04:00:00Z", 0)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=fire) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(answer.status_code for answer in answers)
    made = scheduled(api, BackupStatus.COMPLETED)
    assert len(made) == 1, codes
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}
    for answer in answers:
        if answer.status_code == 200:
            assert answer.get_json()["backup_id"] == made[0]
    assert failure_mails(api) == 0, "duplicate deliveries of attempt 1 are not Scheduler's last attempt"


def test_manual_call_with_run_key_is_idempotent_too(api: Api) -> None:
    first = api.call("scheduled_backup", body={"run_key": "ops-2026-11-25"}, as_=SCHEDULER_SA)
    second = api.call("scheduled_backup", body={"run_key": "ops-2026-11-25"}, as_=SCHEDULER_SA)
    assert first.status_code == 201 and second.status_code == 200
    assert second.get_json()["backup_id"] == first.get_json()["backup"]["id"]
