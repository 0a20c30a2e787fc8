"""scheduled_cleanup's answers: a run that fails as a whole answers with its error's status and the attempt
headers, as one that could not delete some backups does; partial or malformed Scheduler headers are a 400
naming the header, not a manual run."""

from __future__ import annotations

from datetime import timedelta

from werkzeug.test import TestResponse

from shared.notify.base import NotificationKind
from shared.services.cleanup import LOCK_NAME
from tests.functions.conftest import SCHEDULER_SA, Api
from tests.functions.test_openapi import SPEC, _resolved, _response_schema, _violations
from tests.functions.test_scheduled_properties import MAX_RETRIES
from tests.functions.test_scheduled_skip import store_unreadable_settings

_RUN = {
    "X-CloudScheduler-JobName": "database-cleanup",
    "X-CloudScheduler-ScheduleTime": "2026-11-28T03:30:00Z",
}


def _scheduled(api: Api, retry_count: int) -> TestResponse:
    headers = {**_RUN, "X-CloudScheduler-RetryCount": str(retry_count)}
    return api.call("scheduled_cleanup", headers=headers, as_=SCHEDULER_SA)


def _as_documented(answer: TestResponse) -> None:
    operation = SPEC["paths"]["/scheduled_cleanup"]["post"]
    status = str(answer.status_code)
    documented = _resolved(operation["responses"][status])["headers"]
    assert {"X-Backup-Attempt", "X-Backup-Final-Attempt"} <= set(documented)
    assert _violations(answer.get_json(), _response_schema(operation, status)) == []


def _cleanup_mails(api: Api) -> int:
    return sum(n.kind is NotificationKind.SCHEDULED_CLEANUP_FAILED for n in api.notifier.sent)


def test_a_cleanup_kept_out_by_another_one_answers_409_with_the_attempt_headers(api: Api) -> None:
    ctx = api.runtime.context
    assert ctx.catalog.acquire_lock(LOCK_NAME, "another-cleanup", ctx.clock.now(), timedelta(minutes=5))

    for retry in (0, MAX_RETRIES):
        answer = _scheduled(api, retry)
        assert answer.status_code == 409, answer.get_json()
        assert "another cleanup is running" in answer.get_json()["error"]
        assert answer.headers["X-Backup-Attempt"] == str(retry + 1)
        assert answer.headers["X-Backup-Final-Attempt"] == ("true" if retry == MAX_RETRIES else "false")
        _as_documented(answer)
    assert _cleanup_mails(api) == 0, "another cleanup running is no failure"


def test_a_cleanup_that_fails_as_a_whole_answers_500_with_the_attempt_headers(api: Api) -> None:
    store_unreadable_settings(api)

    first = _scheduled(api, 0)
    assert first.status_code == 500, first.get_json()
    assert first.headers["X-Backup-Attempt"] == "1" and first.headers["X-Backup-Final-Attempt"] == "false"
    assert "reference" in first.get_json()["error"] and _cleanup_mails(api) == 0

    last = _scheduled(api, MAX_RETRIES)
    assert last.status_code == 500, last.get_json()
    assert last.headers["X-Backup-Attempt"] == str(MAX_RETRIES + 1)
    assert last.headers["X-Backup-Final-Attempt"] == "true" and _cleanup_mails(api) == 1
    _as_documented(last)


def test_partial_scheduler_headers_are_refused_without_mentioning_run_key(api: Api) -> None:
    answer = api.call(
        "scheduled_cleanup", headers={"X-CloudScheduler-JobName": "database-cleanup"}, as_=SCHEDULER_SA
    )

    assert answer.status_code == 400, answer.get_json()
    [(name, message)] = answer.get_json()["fields"].items()
    assert name == "X-CloudScheduler-ScheduleTime"
    assert "required" in message and "run_key" not in message
