"""The audit trail: every operation is written as a structured log line and stored in the catalog.

The log line comes first and a failed store never raises: recording an operation must not change its
outcome (a denied caller still gets 403, a failed backup still raises its own error and sends its mail).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from shared.catalog.base import Catalog
from shared.clock import Clock
from shared.models import AuditAction, BackupLog
from shared.redaction import redact

_log = logging.getLogger("backup.audit")


def redacted_details(value: Any) -> Any:
    """`value` with every string in it redacted (details carry error texts, e.g. of a storage)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redacted_details(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redacted_details(item) for item in value]
    return value


class Auditor:
    def __init__(self, catalog: Catalog, clock: Clock) -> None:
        self._catalog = catalog
        self._clock = clock

    def record(
        self,
        actor: str,
        action: AuditAction,
        backup_id: str | None = None,
        details: dict[str, Any] | None = None,
        *,
        severity: str = "NOTICE",
    ) -> BackupLog:
        """Log the entry as one JSON line that Cloud Logging reads as structured, then store it. Returns the
        entry (as stored, or as logged when storing failed)."""
        entry = BackupLog(
            actor=actor,
            action=action,
            created_at=self._clock.now(),
            backup_id=backup_id,
            details=redacted_details(dict(details or {})),
            id=uuid.uuid4().hex,
        )
        _log.info(
            _json_line(
                severity, f"{actor} {action}" + (f" {backup_id}" if backup_id else ""), audit=entry.to_dict()
            )
        )
        try:
            return self._catalog.add_log(entry)
        except Exception as exc:
            _log.critical(
                _json_line(
                    "CRITICAL",
                    "AUDIT ENTRY NOT STORED: the catalog refused it; this log line is its only record",
                    audit=entry.to_dict(),
                    store_error=redact(f"{type(exc).__name__}: {exc}"),
                )
            )
            return entry


def _json_line(severity: str, message: str, **fields: Any) -> str:
    return json.dumps({"severity": severity, "message": message, **fields}, default=str)
