"""A scheduled cleanup that cannot delete mails it once, from Scheduler's final attempt (a manual call at
once), so backups the policy no longer keeps never pile up unseen until the Drive is full."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from shared.models import StorageKind
from shared.notify.base import NotificationKind
from shared.storage.local import LocalStorage
from tests.functions.conftest import SCHEDULER_SA, Api

MAX_RETRIES = 3  # the Config default, as Terraform sets it on the job


def _mails(api: Api) -> list[str]:
    return [n.error for n in api.notifier.sent if n.kind is NotificationKind.SCHEDULED_CLEANUP_FAILED]


def _blocked_older_backup(api: Api) -> tuple[str, Path]:
    """Two backups, retention keeping one; the older one's file cannot be deleted (root ignores
    permissions, so a non-empty folder stands where the file was)."""
    older = api.call("create_backup").get_json()["backup"]
    api.call("create_backup")
    daily_only = {"retention_daily": 1, "retention_weekly": 0, "retention_monthly": 0}
    assert api.call("backup_settings", "PUT", body=daily_only).status_code == 200
    local = api.runtime.context.storages[StorageKind.LOCAL]
    assert isinstance(local, LocalStorage)
    [location] = older["locations"]
    path = local.root / location["ref"]
    path.unlink()
    path.mkdir()
    (path / "inside").write_bytes(b"x")
    return older["id"], path


def _scheduled(api: Api, retry_count: int | None) -> TestResponse:
    headers = {
        "X-CloudScheduler-JobName": "database-cleanup",
        "X-CloudScheduler-ScheduleTime": "2026-11-28T03:30:00Z",
    }
    if retry_count is not None:
        headers["X-CloudScheduler-RetryCount"] = str(retry_count)
    return api.call("scheduled_cleanup", headers=headers, as_=SCHEDULER_SA)


@pytest.mark.parametrize("send_retry_header", [False, True])
def test_only_the_final_attempt_mails_what_could_not_be_deleted(api: Api, send_retry_header: bool) -> None:
    blocked, path = _blocked_older_backup(api)
    for retry in range(MAX_RETRIES + 1):
        answer = _scheduled(api, retry if send_retry_header else None)
        assert answer.status_code == 500, answer.get_json()
        assert [f["id"] for f in answer.get_json()["failures"]] == [blocked]
        is_last = retry == MAX_RETRIES
        assert answer.headers["X-Backup-Attempt"] == str(retry + 1)
        assert answer.headers["X-Backup-Final-Attempt"] == ("true" if is_last else "false")
        assert len(_mails(api)) == (1 if is_last else 0)
    [mail] = [n for n in api.notifier.sent if n.kind is NotificationKind.SCHEDULED_CLEANUP_FAILED]
    assert mail.error == "1 of 1 backups due for deletion could not be deleted"
    assert mail.facts["not deleted"].startswith(f"{blocked}: ")
    assert mail.facts["attempts"] == str(MAX_RETRIES + 1)

    shutil.rmtree(path)
    answer = api.call("scheduled_cleanup", as_=SCHEDULER_SA)
    assert answer.status_code == 200 and answer.get_json()["deleted"] == 1
    assert len(_mails(api)) == 1, "a cleanup that succeeds sends nothing"


def test_a_manual_call_mails_its_failure_at_once(api: Api) -> None:
    blocked, _ = _blocked_older_backup(api)
    answer = api.call("scheduled_cleanup", as_=SCHEDULER_SA)
    assert answer.status_code == 500 and answer.headers["X-Backup-Final-Attempt"] == "true"
    [mail] = [n for n in api.notifier.sent if n.kind is NotificationKind.SCHEDULED_CLEANUP_FAILED]
    assert "attempts" not in mail.facts and blocked in mail.facts["not deleted"]

