"""Audit entries for operations refused or failed before they could audit anything themselves (another
run holds the database, no such backup, the catalog unreachable), so that every operation leaves one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.audit import Auditor
from shared.errors import BackupServiceError, BusyError, ConfigurationError, InvalidInputError, NotFoundError
from shared.models import AuditAction
from shared.redaction import redact

_REFUSALS = (BusyError, NotFoundError, InvalidInputError, ConfigurationError)
"""Errors that refuse an operation, as against a failure while it ran."""


def audit_refusal(
    auditor: Auditor,
    actor: str,
    action: AuditAction,
    exc: BaseException,
    backup_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One entry: `refused` (WARNING) for a busy database, a missing or unusable backup, bad input or
    configuration; else `failed` (ERROR). The error is redacted as every entry is."""
    refused = isinstance(exc, _REFUSALS)
    entry = {"outcome": "refused" if refused else "failed", "error": describe_error(exc), **(details or {})}
    auditor.record(actor, action, backup_id, entry, severity="WARNING" if refused else "ERROR")


@contextmanager
def refusals_audited(
    auditor: Auditor,
    actor: str,
    action: AuditAction,
    backup_id: str | None = None,
    details: dict[str, Any] | None = None,
    *,
    unless: tuple[type[BaseException], ...] = (),
) -> Iterator[None]:
    """Audit (with `audit_refusal`) whatever the block raises but `unless`; for the part of an operation
    that audits nothing of its own."""
    try:
        yield
    except unless:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        audit_refusal(auditor, actor, action, exc, backup_id, details)
        raise


def describe_error(exc: BaseException) -> str:
    """The error as recorded in a backup's metadata and the audit log: redacted, at most 2000 characters."""
    if isinstance(exc, KeyboardInterrupt):  # the command line raises it for SIGTERM too, naming the signal
        return f"interrupted ({exc})" if str(exc) else "interrupted from the keyboard (Ctrl-C)"
    text = str(exc).strip()
    if not text:
        text = type(exc).__name__
    elif not isinstance(exc, BackupServiceError):
        text = f"{type(exc).__name__}: {text}"
    return redact(text)[:2000]
