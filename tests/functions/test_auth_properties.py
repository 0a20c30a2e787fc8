"""Properties 16 (unauthorized access denial) and 17 (permission granularity), over random callers,
permission grants, token defects and operations."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.auth.permissions import AccessGuard
from shared.auth.tokens import TokenVerifier
from shared.config import PERMISSIONS
from shared.dburl import DatabaseURL
from shared.models import AuditAction
from tests.fakes.certs_server import CertsServer, SigningKey
from tests.fakes.scheduler_server import FakeCloudScheduler
from tests.functions.conftest import AUDIENCE, JOB, Api, make_api
from tests.functions.operations import INVALID_CALLS, Operation

TOKEN_DEFECTS = (
    "missing",
    "not_bearer",
    "garbage",
    "expired",
    "wrong_audience",
    "wrong_issuer",
    "unverified_email",
    "no_email_verified_claim",
    "foreign_key",
    "tampered",
)
_FOREIGN_KEY = SigningKey("test-key-1")  # same kid, different key: the signature must not verify

emails = st.builds(
    lambda name, sa: f"{name}@proj.iam.gserviceaccount.com" if sa else f"{name}@example.com",
    st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True),
    st.booleans(),
)


def _member(email: str) -> str:
    return ("serviceAccount:" if email.endswith(".gserviceaccount.com") else "user:") + email


def _install_permissions(api: Api, permissions: dict[str, list[str]]) -> None:
    verifier = TokenVerifier([AUDIENCE], api.certs.url)
    api.runtime.guard = AccessGuard(verifier, permissions, api.runtime.context.auditor)


def _bad_token(api: Api, defect: str, email: str) -> dict[str, str]:
    mint = api.certs.mint
    tokens = {
        "garbage": "not.a.jwt",
        "expired": mint(email, lifetime=60, issued_ago=3600),
        "wrong_audience": mint(email, audience="https://someone-else.test"),
        "wrong_issuer": mint(email, issuer="https://evil.example"),
        "unverified_email": mint(email, email_verified=False),
        "no_email_verified_claim": mint(email, email_verified=None),
        "foreign_key": mint(email, key=_FOREIGN_KEY),
        "tampered": mint(email)[:-6] + "AAAAAA",
    }
    if defect == "missing":
        return {}
    if defect == "not_bearer":
        return {"Authorization": f"Basic {mint(email)}"}
    return {"Authorization": f"Bearer {tokens[defect]}"}


def _state(api: Api) -> tuple[int, dict[str, object]]:
    ctx = api.runtime.context
    return len(ctx.catalog.list_backups(limit=1000).backups), ctx.catalog.get_settings().to_dict()


def _send(api: Api, operation: Operation, headers: dict[str, str]) -> tuple[int, dict[str, object], str]:
    answer = api.call(
        operation.target,
        operation.method,
        body=operation.body,
        query=operation.query,
        as_=None,
        headers=headers,
    )
    return answer.status_code, answer.get_json(), answer.headers.get("WWW-Authenticate", "")


@given(
    email=emails,
    operation=st.sampled_from(INVALID_CALLS),
    defect=st.sampled_from(TOKEN_DEFECTS),
    granted=st.sets(st.sampled_from(PERMISSIONS)),
)
def test_property_16_unauthorized_access_denial(
    api: Api, email: str, operation: Operation, defect: str, granted: set[str]
) -> None:
    _install_permissions(api, {permission: [_member(email)] for permission in granted})
    before, denials = _state(api), len([log for log in api.logs() if log.action is AuditAction.ACCESS_DENIED])
    status, body, challenge = _send(api, operation, _bad_token(api, defect, email))
    assert status == 401
    assert challenge.startswith("Bearer")
    assert set(body) == {"error"} and email not in str(body) and operation.permission not in str(body)
    assert _state(api) == before
    assert len([log for log in api.logs() if log.action is AuditAction.ACCESS_DENIED]) == denials


@given(
    email=emails,
    operation=st.sampled_from(INVALID_CALLS),
    granted=st.sets(st.sampled_from(PERMISSIONS)),
    others=st.dictionaries(st.sampled_from(PERMISSIONS), st.lists(emails, max_size=2), max_size=3),
)
def test_property_17_permission_granularity(
    api: Api, email: str, operation: Operation, granted: set[str], others: dict[str, list[str]]
) -> None:
    permissions = {p: [_member(e) for e in members if e != email] for p, members in others.items()}
    for permission in granted:
        permissions.setdefault(permission, []).append(_member(email))
    _install_permissions(api, permissions)
    before = _state(api)
    denials_before = [log for log in api.logs() if log.action is AuditAction.ACCESS_DENIED]
    status, body, _ = _send(api, operation, {"Authorization": f"Bearer {api.token(email)}"})
    denials = [log for log in api.logs() if log.action is AuditAction.ACCESS_DENIED]
    if operation.permission in granted:
        assert status == 400, body  # admitted, then refused by validation: nothing changes
        assert len(denials) == len(denials_before)
    else:
        assert status == 403
        assert body == {"error": "permission denied"}
        assert len(denials) == len(denials_before) + 1
        entry = denials[0]
        assert entry.actor == email
        assert entry.details["permission"] == operation.permission
        assert entry.details["operation"] == operation.target
    assert _state(api) == before


def test_a_permission_never_grants_another(api: Api) -> None:
    """backups.view alone lists but cannot download (a dump holds all the data)."""
    _install_permissions(api, {"backups.view": ["user:viewer@example.com"]})
    assert api.call("list_backups", "GET", as_="viewer@example.com").status_code == 200
    assert api.call("download_backup", "GET", query={"id": "x"}, as_="viewer@example.com").status_code == 403


def test_domain_members_match_the_workspace_domain_not_the_email_domain(api: Api) -> None:
    """As IAM does: `domain:` is the verified `hd` claim of a Google Workspace account."""
    _install_permissions(api, {"backups.view": ["domain:example.com"]})

    def status(email: str, hosted_domain: str | None = None) -> int:
        token = api.token(email, hosted_domain=hosted_domain)
        return api.call("list_backups", "GET", token=token).status_code

    assert status("anyone@example.com", hosted_domain="example.com") == 200
    assert status("alias@example-brand.test", hosted_domain="Example.com") == 200
    assert status("anyone@example.com") == 403, "a consumer Google account registered with a company address"
    assert status("anyone@example.org", hosted_domain="example.org") == 403


def test_auth_disabled_locally_warns_on_every_call(
    tmp_path: Path,
    mysql_db: DatabaseURL,
    certs: CertsServer,
    scheduler: FakeCloudScheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = make_api(tmp_path / "h", mysql_db, certs, scheduler, extra={"BACKUP_AUTH_DISABLED": "true"})
    with caplog.at_level(logging.WARNING, logger="backup.auth"):
        assert api.call("list_backups", "GET", as_=None).status_code == 200
        assert api.call("list_backups", "GET", as_=None).status_code == 200
    assert sum("DISABLED" in record.getMessage() for record in caplog.records) == 2


MANAGER = "manager@example.com"


def _manager_may(api: Api, *, delete: bool) -> None:
    granted = ["backups.view", "backups.manage-settings", *(["backups.delete"] if delete else [])]
    _install_permissions(api, {permission: [f"user:{MANAGER}"] for permission in granted})


def _denials(api: Api) -> list[dict[str, object]]:
    return [log.details for log in api.logs() if log.action is AuditAction.ACCESS_DENIED]


def test_a_cleanup_that_deletes_also_takes_the_delete_permission(api: Api) -> None:
    older = api.call("create_backup").get_json()["backup"]["id"]
    api.call("create_backup")
    daily_only = {"retention_daily": 1, "retention_weekly": 0, "retention_monthly": 0}
    assert api.call("backup_settings", "PUT", body=daily_only).status_code == 200
    _manager_may(api, delete=False)

    planned = api.call("cleanup_backups", body={"dry_run": True}, as_=MANAGER)
    assert planned.status_code == 200 and planned.get_json()["delete"] == [{"id": older}]

    refused = api.call("cleanup_backups", body={"dry_run": False}, as_=MANAGER)
    assert refused.status_code == 403
    assert refused.get_json() == {
        "error": "permission denied: a cleanup that is not a dry run deletes backups, which also takes the "
        "backups.delete permission"
    }
    assert _state(api)[0] == 2, "nothing was deleted"
    assert _denials(api)[0] == {
        "operation": "cleanup_backups",
        "permission": "backups.delete",
        "member": f"user:{MANAGER}",
    }

    _manager_may(api, delete=True)
    applied = api.call("cleanup_backups", body={"dry_run": False}, as_=MANAGER)
    assert applied.status_code == 200 and applied.get_json()["deleted"] == 1
    assert _state(api)[0] == 1


def test_a_retention_change_that_keeps_fewer_backups_also_takes_the_delete_permission(
    api: Api, scheduler: FakeCloudScheduler
) -> None:
    _manager_may(api, delete=False)

    def put(**changes: object) -> tuple[int, str]:
        answer = api.call("backup_settings", "PUT", body=changes, as_=MANAGER)
        return answer.status_code, answer.get_json().get("error", "")

    assert put(retention_daily=10, retention_weekly=4, schedule_time="04:30") == (200, "")
    job_before, settings_before = scheduler.job(JOB), _state(api)[1]

    status, error = put(retention_daily=3, retention_monthly=2, schedule_time="05:00")
    assert status == 403
    assert error == (
        "permission denied: lowering retention_daily and retention_monthly deletes backups at the next "
        "cleanup, which also takes the backups.delete permission"
    )
    assert _state(api)[1] == settings_before, "nothing of the refused change was saved"
    assert scheduler.job(JOB) == job_before, "nor was the Scheduler job moved"
    assert _denials(api)[0]["permission"] == "backups.delete"

    assert put(retention_daily=0, retention_weekly=0, retention_monthly=0) == (200, ""), "off keeps all"
    status, error = put(retention_weekly=1)
    assert status == 403 and error.startswith("permission denied: turning retention on deletes backups")

    _manager_may(api, delete=True)
    assert put(retention_daily=3, retention_weekly=1)[0] == 200
    assert _state(api)[1]["retention_daily"] == 3
