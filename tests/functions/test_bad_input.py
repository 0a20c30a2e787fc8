"""Bad input for every function: 400 with a message per field, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functions.conftest import SCHEDULER_SA, Api

_TIME = "X-CloudScheduler-ScheduleTime"
_JOB = "X-CloudScheduler-JobName"
_RETRY = "X-CloudScheduler-RetryCount"
_RUN = {_JOB: "j", _TIME: "2026-11-25T02:00:00Z"}

# (target, method, body or raw bytes, query, headers, the fields the answer must name)
BAD_INPUT: list[tuple[str, str, Any, dict[str, str], dict[str, str], set[str]]] = [
    ("list_backups", "GET", None, {"limit": "0"}, {}, {"limit"}),
    ("list_backups", "GET", None, {"limit": "1001"}, {}, {"limit"}),
    ("list_backups", "GET", None, {"limit": "ten"}, {}, {"limit"}),
    ("list_backups", "GET", None, {"status": "done"}, {}, {"status"}),
    ("list_backups", "GET", None, {"source": "robot"}, {}, {"source"}),
    ("list_backups", "GET", None, {"protected": "maybe"}, {}, {"protected"}),
    ("list_backups", "GET", None, {"id": "../etc/passwd"}, {}, {"id"}),
    ("list_backups", "GET", None, {"id": "abc", "limit": "5"}, {}, {"limit"}),
    ("list_backups", "GET", None, {"cursor": "x" * 1001}, {}, {"cursor"}),
    ("list_backups", "GET", None, {"colour": "red"}, {}, {"colour"}),
    ("list_backups", "POST", {"limit": "5"}, {}, {}, {"limit"}),
    ("create_backup", "POST", {"protect": "yes"}, {}, {}, {"protect"}),
    ("create_backup", "POST", {"database": "other"}, {}, {}, {"database"}),
    ("create_backup", "POST", [1, 2], {}, {}, {"body"}),
    ("create_backup", "POST", b"{not json", {}, {}, {"body"}),
    ("create_backup", "POST", b"{" + b'"a":"' + b"x" * 70_000 + b'"}', {}, {}, {"body"}),
    ("delete_backup", "POST", {}, {}, {}, {"id"}),
    ("delete_backup", "POST", {"id": 12}, {}, {}, {"id"}),
    ("delete_backup", "POST", {"id": "a" * 65}, {}, {}, {"id"}),
    ("delete_backup", "POST", {"id": "x"}, {"id": "x"}, {}, {"id"}),
    ("download_backup", "GET", None, {}, {}, {"id"}),
    ("download_backup", "GET", None, {"id": "a b"}, {}, {"id"}),
    ("restore_backup", "POST", {"id": "abc"}, {}, {}, {"confirm"}),
    ("restore_backup", "POST", {"id": "abc", "confirm": "abd"}, {}, {}, {"confirm"}),
    ("restore_backup", "POST", {"id": "abc", "confirm": "abc", "force": True}, {}, {}, {"force"}),
    ("cleanup_backups", "POST", {"dry_run": "true"}, {}, {}, {"dry_run"}),
    ("cleanup_backups", "POST", {"dry_run": None}, {}, {}, {"dry_run"}),
    ("backup_settings", "PUT", {"retention_daily": -1}, {}, {}, {"retention_daily"}),
    ("backup_settings", "PUT", {"retention_weekly": 5000}, {}, {}, {"retention_weekly"}),
    ("backup_settings", "PUT", {"schedule_time": "25:00"}, {}, {}, {"schedule_time"}),
    ("backup_settings", "PUT", {"schedule_frequency": "hourly"}, {}, {}, {"schedule_frequency"}),
    ("backup_settings", "PUT", {"cron_expression": "61 * * * *"}, {}, {}, {"cron_expression"}),
    (
        "backup_settings",
        "PUT",
        {"schedule_frequency": "custom", "cron_expression": None},
        {},
        {},
        {"cron_expression"},
    ),
    ("backup_settings", "PUT", {"time_zone": "Mars/Olympus"}, {}, {}, {"time_zone"}),
    ("backup_settings", "PUT", {"notification_emails": ["not-an-address"]}, {}, {}, {"notification_emails"}),
    ("backup_settings", "PUT", {"notification_emails": "a@b.c"}, {}, {}, {"notification_emails"}),
    (
        "backup_settings",
        "PUT",
        {"google_drive_enabled": True},
        {},
        {},
        {"google_drive_enabled", "google_drive_folder_id"},
    ),
    ("backup_settings", "PUT", {"updated_at": "2020-01-01"}, {}, {}, {"updated_at"}),
    ("backup_settings", "PUT", {"drive_credentials": 5}, {}, {}, {"drive_credentials"}),
    ("backup_settings", "POST", {"action": "format_drive"}, {}, {}, {"action"}),
    ("backup_settings", "POST", {}, {}, {}, {"action"}),
    ("backup_settings", "GET", None, {"verbose": "1"}, {}, {"verbose"}),
    ("scheduled_backup", "POST", {}, {}, {}, {_JOB, _TIME}),
    ("scheduled_backup", "POST", {}, {}, {_JOB: "database-backup", _TIME: "yesterday"}, {_TIME}),
    ("scheduled_backup", "POST", {}, {}, {_JOB: "j", _TIME: "2026-11-25T02:00:00"}, {_TIME}),
    (
        "scheduled_backup",
        "POST",
        {},
        {},
        {_JOB: "j", _TIME: "2026-11-25T02:00:00Z", "X-CloudScheduler-RetryCount": "-1"},
        {"X-CloudScheduler-RetryCount"},
    ),
    ("scheduled_backup", "POST", {"run_key": "a/b"}, {}, {}, {"run_key"}),
    (
        "scheduled_backup",
        "POST",
        {"run_key": "k"},
        {},
        {_JOB: "j", _TIME: "2026-11-25T02:00:00Z"},
        {"run_key"},
    ),
    ("scheduled_cleanup", "POST", {"dry_run": True}, {}, {}, {"dry_run"}),
    ("scheduled_cleanup", "POST", {}, {}, {_JOB: "database-cleanup"}, {_TIME}),
    ("scheduled_cleanup", "POST", {}, {}, {_TIME: "2026-11-28T03:30:00Z"}, {_JOB}),
    ("scheduled_cleanup", "POST", {}, {}, {_RETRY: "abc"}, {_JOB, _TIME, _RETRY}),
    ("scheduled_cleanup", "POST", {}, {}, {**_RUN, _RETRY: "abc"}, {_RETRY}),
    ("scheduled_cleanup", "POST", {}, {}, {_JOB: "j", _TIME: "yesterday"}, {_TIME}),
    # JSON that parses into what cannot be used, and GET requests that carry a body
    ("create_backup", "POST", b'{"\\udfff": 1}', {}, {}, {"body"}),
    ("create_backup", "POST", b'["\\ud800"]', {}, {}, {"body"}),
    ("backup_settings", "PUT", b'{"notification_emails": ["\\ud800@x.yz"]}', {}, {}, {"notification_emails"}),
    ("list_backups", "POST", b'{"limit": 5, "status": {"a": ["\\udc00"]}}', {}, {}, {"status"}),
    ("delete_backup", "POST", b'{"id": "\xed\xa0\x80"}', {}, {}, {"id"}),
    ("list_backups", "POST", b'{"limit": ' + b"1" * 5000 + b"}", {}, {}, {"body"}),
    ("create_backup", "POST", b"[" * 30_000 + b"]" * 30_000, {}, {}, {"body"}),
    ("list_backups", "GET", {"limit": 0}, {}, {}, {"body"}),
    ("download_backup", "GET", {"id": "abc"}, {"id": "abc"}, {}, {"body"}),
    ("scheduled_backup", "POST", {}, {}, {**_RUN, _RETRY: "\u00b2"}, {_RETRY}),
    ("scheduled_backup", "POST", {}, {}, {**_RUN, _RETRY: "100000"}, {_RETRY}),
    ("scheduled_backup", "POST", {}, {}, {_JOB: "j", _TIME: "9999-12-31T23:59:59-10:00"}, {_TIME}),
    ("scheduled_backup", "POST", {}, {}, {_JOB: "j", _TIME: "0001-01-01T00:00:00+14:00"}, {_TIME}),
    ("scheduled_backup", "POST", {}, {}, {_JOB: "j", _TIME: "1999-12-31T23:59:59Z"}, {_TIME}),
]


@pytest.mark.parametrize(("target", "method", "body", "query", "headers", "fields"), BAD_INPUT)
def test_bad_input_is_refused_per_field_and_changes_nothing(
    api: Api,
    target: str,
    method: str,
    body: Any,
    query: dict[str, str],
    headers: dict[str, str],
    fields: set[str],
) -> None:
    ctx = api.runtime.context
    settings_before = ctx.catalog.get_settings()
    logs_before = len(api.logs())
    caller = SCHEDULER_SA if target.startswith("scheduled_") else "ops@example.com"
    raw = body if isinstance(body, bytes) else None
    answer = api.call(
        target, method, body=None if raw else body, raw=raw, query=query, headers=headers, as_=caller
    )
    assert answer.status_code == 400, answer.get_json()
    data = answer.get_json()
    assert isinstance(data["error"], str) and data["error"]
    assert set(data["fields"]) == fields, data
    assert all(isinstance(message, str) and message for message in data["fields"].values())
    assert ctx.catalog.get_settings() == settings_before
    assert ctx.catalog.list_backups().backups == []
    assert len(api.logs()) == logs_before


@pytest.mark.parametrize(
    ("target", "method"),
    [
        ("list_backups", "DELETE"),
        ("create_backup", "GET"),
        ("download_backup", "POST"),
        ("backup_settings", "DELETE"),
        ("scheduled_backup", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(api: Api, target: str, method: str) -> None:
    answer = api.call(target, method)
    assert answer.status_code == 405 and answer.headers["Allow"]


def test_unknown_backup_is_404(api: Api) -> None:
    assert api.call("list_backups", "GET", query={"id": "nope"}).status_code == 404
    assert api.call("download_backup", "GET", query={"id": "nope"}).status_code == 404
    assert api.call("delete_backup", body={"id": "nope"}).status_code == 404
