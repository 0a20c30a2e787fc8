"""Property 18 (audit log completeness): every operation through the functions leaves an entry with
actor, action, backup id, details and time — in the catalog and as a structured JSON log line; one that is
refused before it starts (busy, no such backup) leaves exactly one, saying `refused`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models import AuditAction
from shared.services.cleanup import LOCK_NAME as CLEANUP_LOCK
from shared.services.locking import lock_name
from tests.functions.conftest import OPERATOR, Api

STEPS = ("create", "download", "delete", "settings", "cleanup", "denied", "restore")
REFUSALS = ("busy_create", "busy_restore", "missing_restore", "busy_cleanup")
MISSING = "0123456789abcdef"


@given(steps=st.lists(st.sampled_from(STEPS + REFUSALS), min_size=1, max_size=5))
def test_property_18_audit_log_completeness(api: Api, steps: list[str]) -> None:
    for step in steps:
        before = {log.id for log in api.logs()}
        backups = api.runtime.context.catalog.list_backups(limit=1000).backups
        existing = next((b.id for b in backups if b.status.value == "completed"), None)
        if step in REFUSALS:
            expected_action, expected_id, actor = _refuse(api, step, existing)
        else:
            expected_action, expected_id, actor = _do(api, step, existing)
        if expected_action is None:
            continue
        new = [log for log in api.logs() if log.id not in before]
        matching = [log for log in new if log.action is expected_action]
        assert matching, (step, [log.action for log in new])
        if step in REFUSALS:
            assert [log.details["outcome"] for log in matching] == ["refused"], (step, matching)
            assert matching[0].backup_id == expected_id and matching[0].details["error"]
        for log in matching:
            assert log.actor == actor and log.created_at.tzinfo is not None
            if expected_id is not None:
                assert log.backup_id == expected_id or expected_action is AuditAction.CLEANUP


def _do(api: Api, step: str, existing: str | None) -> tuple[AuditAction | None, str | None, str]:
    if step == "create":
        backup_id = api.call("create_backup").get_json()["backup"]["id"]
        return AuditAction.CREATE, backup_id, OPERATOR
    if step == "settings":
        api.call("backup_settings", "PUT", body={"retention_daily": len(api.logs()) % 30})
        return AuditAction.SETTINGS_CHANGE, None, OPERATOR
    if step == "cleanup":
        assert api.call("cleanup_backups", body={"dry_run": False}).status_code == 200
        return None, None, OPERATOR  # an entry per deleted backup only; checked in the cleanup service tests
    if step == "denied":
        api.call("list_backups", "GET", as_="stranger@example.com")
        return AuditAction.ACCESS_DENIED, None, "stranger@example.com"
    if existing is None:
        return None, None, OPERATOR
    if step == "download":
        assert api.call("download_backup", "GET", query={"id": existing}).status_code == 200
        return AuditAction.DOWNLOAD, existing, OPERATOR
    if step == "restore":
        assert api.call("restore_backup", body={"id": existing, "confirm": existing}).status_code == 200
        return AuditAction.RESTORE, existing, OPERATOR
    assert api.call("delete_backup", body={"id": existing}).status_code == 200
    return AuditAction.DELETE, existing, OPERATOR


def _refuse(api: Api, step: str, existing: str | None) -> tuple[AuditAction | None, str | None, str]:
    """An operation refused before it starts: 409 while another run holds the lock, 404."""
    if step == "busy_create":
        with _held(api, lock_name(api.database)):
            assert api.call("create_backup").status_code == 409
        return AuditAction.CREATE, None, OPERATOR
    if step == "busy_cleanup":
        with _held(api, CLEANUP_LOCK):
            assert api.call("cleanup_backups", body={"dry_run": False}).status_code == 409
        return AuditAction.CLEANUP, None, OPERATOR
    if step == "missing_restore":
        assert api.call("restore_backup", body={"id": MISSING, "confirm": MISSING}).status_code == 404
        return AuditAction.RESTORE, MISSING, OPERATOR
    if existing is None:
        return None, None, OPERATOR
    with _held(api, lock_name(api.database)):
        assert api.call("restore_backup", body={"id": existing, "confirm": existing}).status_code == 409
    return AuditAction.RESTORE, existing, OPERATOR


@contextmanager
def _held(api: Api, lock: str) -> Iterator[None]:
    ctx = api.runtime.context
    assert ctx.catalog.acquire_lock(lock, "another-run", ctx.clock.now(), ctx.lock_ttl)
    try:
        yield
    finally:
        ctx.catalog.release_lock(lock, "another-run")


def test_audit_entries_are_structured_log_lines(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="backup.audit"):
        api.call("list_backups", "GET", as_="stranger@example.com")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "backup.audit"]
    assert lines and lines[-1]["severity"] == "WARNING"
    assert (
        lines[-1]["audit"]["action"] == "access_denied"
        and lines[-1]["audit"]["actor"] == "stranger@example.com"
    )
