"""The audit entry of a connection check (`db-test`, `drive-test`, the settings API's test actions): a check
that connects to the database or writes a probe file to Drive is an operation like any other."""

from __future__ import annotations

from typing import Protocol

from shared.models import AuditAction
from shared.services.context import ServiceContext


class Check(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def configured(self) -> bool: ...

    @property
    def message(self) -> str: ...


def record_check(context: ServiceContext, actor: str, action: AuditAction, check: Check) -> None:
    """Audit `check` as `action`: outcome `passed`, `failed` or `not configured`, and its message."""
    outcome = "passed" if check.ok else "failed" if check.configured else "not configured"
    details = {"outcome": outcome, "message": check.message}
    context.auditor.record(actor, action, None, details, severity="NOTICE" if check.ok else "WARNING")
