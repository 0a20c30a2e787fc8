"""Requests a careless or hostile client sends: bodies not declared as JSON, forged cursors, text that is
not Unicode, the Scheduler's own body; each gets a 4xx that says what to fix (never a 500), or works."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import pytest

from functions.http import error_response, response_for_error
from functions.validation import MAX_BODY_BYTES
from shared.models import DatabaseInfo
from shared.notify.base import scheduled_backup_failed
from tests.functions.conftest import JOB, SCHEDULER_SA, Api
from tests.infra.terraform_files import resource, single_block

_BODY = b'{"protect": true}'


def _forged_cursor(created_at: object, backup_id: object = "x") -> str:
    payload = json.dumps({"v": 1, "c": created_at, "i": backup_id}).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin-1", "json"],
)
def test_a_body_not_declared_as_json_is_415_and_changes_nothing(api: Api, content_type: str) -> None:
    answer = api.call("create_backup", raw=_BODY, headers={"Content-Type": content_type})

    assert answer.status_code == 415, answer.get_json()
    assert set(answer.get_json()["fields"]) == {"Content-Type"}
    assert "application/json" in answer.get_json()["error"] + answer.get_json()["fields"]["Content-Type"]
    assert api.runtime.context.catalog.list_backups().backups == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]
)
def test_a_json_body_may_name_its_charset(api: Api, content_type: str) -> None:
    answer = api.call("create_backup", raw=_BODY, headers={"Content-Type": content_type})

    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["backup"]["is_protected"] is True


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "latin-1"])
def test_a_json_body_that_is_not_utf_8_is_refused_and_changes_nothing(api: Api, encoding: str) -> None:
    body = '{"protect": true, "note": "caf\u00e9"}'.encode(encoding)
    answer = api.call("create_backup", raw=body, headers={"Content-Type": "application/json"})

    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["fields"] == {"body": "is not UTF-8"}
    assert api.call("list_backups", "GET").get_json()["backups"] == []


def test_a_json_body_may_start_with_a_byte_order_mark(api: Api) -> None:
    with_bom = b"\xef\xbb\xbf" + _BODY
    answer = api.call("create_backup", raw=with_bom, headers={"Content-Type": "application/json"})
    assert answer.status_code == 201, answer.get_json()


def test_a_body_over_64_kib_is_refused_before_it_is_read_whole(api: Api) -> None:
    at_the_limit = _BODY + b" " * (MAX_BODY_BYTES - len(_BODY))
    json_type = {"Content-Type": "application/json"}
    assert api.call("create_backup", raw=at_the_limit, headers=json_type).status_code == 201
    for method in ("POST", "GET"):
        answer = api.call(
            "create_backup" if method == "POST" else "list_backups",
            method,
            raw=at_the_limit + b" ",
            headers=json_type,
        )
        assert answer.status_code == 400, answer.get_json()
        assert answer.get_json()["fields"] == {"body": f"larger than {MAX_BODY_BYTES} bytes"}


def test_an_empty_body_needs_no_content_type(api: Api) -> None:
    assert api.call("create_backup").status_code == 201
    assert api.call("create_backup", raw=b"", headers={"Content-Type": "text/plain"}).status_code == 201


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-10:00"])
def test_a_forged_cursor_is_an_invalid_cursor(api: Api, created_at: str) -> None:
    answer = api.call("list_backups", "GET", query={"cursor": _forged_cursor(created_at)})

    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"].startswith("invalid cursor")


@pytest.mark.parametrize(
    ("created_at", "backup_id"),
    [
        ("2026-01-01T00:00:00+00:00", "\ud800"),
        ("2026-01-01T00:00:00+00:00", "a/b"),
        ("2026-01-01T00:00:00+00:00", "__name__"),
        ("2026-01-01T00:00:00+00:00", "x" * 201),
        ("2026-01-01T00:00:00+00:00", 7),
        (20260101, "x"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_cursor_with_a_forged_id_is_an_invalid_cursor(
    api: Api, created_at: object, backup_id: object, method: str
) -> None:
    cursor = _forged_cursor(created_at, backup_id)
    if method == "GET":
        answer = api.call("list_backups", "GET", query={"cursor": cursor})
    else:
        answer = api.call("list_backups", "POST", body={"cursor": cursor})

    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"].startswith("invalid cursor")


def test_settings_with_a_lone_surrogate_are_not_saved_and_stay_readable(api: Api) -> None:
    refused = api.call("backup_settings", "PUT", raw=b'{"notification_emails": ["\\ud800@x.yz"]}')

    assert refused.status_code == 400
    assert "surrogate" in refused.get_json()["fields"]["notification_emails"]
    shown = api.call("backup_settings", "GET")
    assert shown.status_code == 200
    assert shown.get_json()["settings"]["notification_emails"] == []


def test_the_response_writer_survives_text_that_is_not_unicode() -> None:
    answer = error_response("bad \ud800 value", 400, {"\udfff": "unknown field"})

    assert answer.status_code == 400
    assert answer.mimetype == "application/json"
    assert json.loads(answer.get_data()) == {
        "error": "bad \ud800 value",
        "fields": {"\udfff": "unknown field"},
    }


@pytest.mark.usefixtures("schedule_on")
@pytest.mark.parametrize("target", ["scheduled_backup", "scheduled_cleanup"])
def test_the_scheduler_jobs_terraform_makes_are_accepted(api: Api, target: str) -> None:
    target_block = single_block(resource("google_cloud_scheduler_job", "job").body, "http_target")
    sent_keys = re.findall(r"(\w+)\s*=", target_block["body"])
    headers = {**target_block["headers"], "X-CloudScheduler-JobName": "database-backup"}
    headers["X-CloudScheduler-ScheduleTime"] = "2026-11-25T02:00:00Z"

    answer = api.call(
        target, raw=json.dumps(dict.fromkeys(sent_keys, JOB)).encode(), headers=headers, as_=SCHEDULER_SA
    )

    assert sent_keys == ["job"]
    assert answer.status_code in (200, 201), answer.get_json()


@pytest.mark.parametrize(
    ("scheduled_for", "shown"),
    [
        ("2026-11-25T03:00:00+01:00", "2026-11-25T02:00:00+00:00"),
        ("9999-12-31T23:59:59-10:00", "9999-12-31T23:59:59-10:00"),
        ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00+14:00"),
        ("2026-11-25T02:00:00", "2026-11-25T02:00:00"),
    ],
)
def test_the_scheduled_failure_mail_can_be_built_for_any_schedule_time(
    scheduled_for: str, shown: str
) -> None:
    database = DatabaseInfo(engine="mysql", name="shop")
    moment = datetime.fromisoformat(scheduled_for)

    mail = scheduled_backup_failed(database, "dump failed", datetime.now(UTC), moment, attempts=4)

    assert mail.facts["scheduled for"] == shown


def test_an_unexpected_error_is_logged_with_its_cause_wherever_it_is_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = response_for_error(ZeroDivisionError("the cause"), "create_backup")  # outside any `except`
    assert answer.status_code == 500
    [logged] = [record for record in caplog.records if "failed unexpectedly" in record.getMessage()]
    assert logged.exc_info is not None and isinstance(logged.exc_info[1], ZeroDivisionError)
