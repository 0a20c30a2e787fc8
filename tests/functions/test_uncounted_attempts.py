"""Scheduler documents no retry-count header, and an attempt that fails before the catalog could count it
(the catalog unreachable, the settings unreadable) is numbered by the time since its scheduled time: the
final attempt still mails, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock
from shared.config import Config
from shared.notify.base import NotificationKind
from shared.scheduler_retries import RetryBackoff
from tests.catalog.test_firestore_deadlines import closed_port as closed_port
from tests.functions.conftest import SCHEDULER_SA, Api
from tests.functions.test_catalog_outage import cut_off as cut_off
from tests.functions.test_scheduled_properties import MAX_RETRIES
from tests.functions.test_scheduled_skip import store_unreadable_settings

SCHEDULED_FOR = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
ARRIVALS = (0, 61, 183, 425)
"""Seconds after the scheduled time at which Scheduler's four attempts come, each failing in a second or
two, with the backoff infra/scheduler.tf sets (60 s, doubling)."""


def test_the_backoff_follows_cloud_schedulers_documented_example() -> None:
    documented = RetryBackoff(min_seconds=10, max_seconds=300, max_doublings=3)
    assert [documented.interval(retry) for retry in range(1, 9)] == [10, 20, 40, 80, 160, 240, 300, 300]
    ours = RetryBackoff()
    assert [ours.attempts_possible(seconds, MAX_RETRIES) for seconds in (0, 59, 60, 179, 180, 419, 420)] == [
        1, 1, 2, 2, 3, 3, 4,
    ]
    assert ours.attempts_possible(10**6, MAX_RETRIES) == MAX_RETRIES + 1


def test_the_backoff_is_read_from_the_environment() -> None:
    assert Config.from_env({}).scheduler.backoff == RetryBackoff(60, 600, 3)
    environ = {
        "BACKUP_SCHEDULER_MIN_BACKOFF_SECONDS": "5",
        "BACKUP_SCHEDULER_MAX_BACKOFF_SECONDS": "50",
        "BACKUP_SCHEDULER_MAX_DOUBLINGS": "1",
    }
    assert Config.from_env(environ).scheduler.backoff == RetryBackoff(5, 50, 1)


def _attempts(api: Api, target: str, job: str) -> list[tuple[int, str, str]]:
    clock = FixedClock(SCHEDULED_FOR)
    api.runtime.context.clock = clock
    headers = {"X-CloudScheduler-JobName": job, "X-CloudScheduler-ScheduleTime": "2026-11-25T02:00:00Z"}
    answers = []
    for seconds in ARRIVALS:
        clock.advance(SCHEDULED_FOR + timedelta(seconds=seconds) - clock.now())
        answer = api.call(target, headers=headers, as_=SCHEDULER_SA)
        answers.append(
            (answer.status_code, answer.headers["X-Backup-Attempt"], answer.headers["X-Backup-Final-Attempt"])
        )
    return answers


def test_a_scheduled_backup_whose_settings_cannot_be_read_mails_on_its_final_attempt(
    schedule_on: Api,
) -> None:
    store_unreadable_settings(schedule_on)
    answers = _attempts(schedule_on, "scheduled_backup", "database-backup")
    assert [final for _, _, final in answers] == ["false", "false", "false", "true"]
    assert [attempt for _, attempt, _ in answers] == ["1", "2", "3", "4"]
    assert [mail.kind for mail in schedule_on.notifier.sent] == [NotificationKind.SCHEDULED_BACKUP_FAILED]


def test_a_scheduled_cleanup_without_a_catalog_mails_on_its_final_attempt(cut_off: Api) -> None:
    answers = _attempts(cut_off, "scheduled_cleanup", "database-cleanup")
    assert [status for status, _, _ in answers] == [503] * 4
    assert [final for _, _, final in answers] == ["false", "false", "false", "true"]
    assert [mail.kind for mail in cut_off.notifier.sent] == [NotificationKind.SCHEDULED_CLEANUP_FAILED]
