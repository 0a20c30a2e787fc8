"""The audit trail: every operation is stored in the catalog and written as a structured log line."""

from __future__ import annotations

import json
import logging
from typing import Any

from shared.catalog.base import Catalog
from shared.clock import Clock
from shared.models import AuditAction, BackupLog

_log = logging.getLogger("backup.audit")


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
        """Store the entry, then log it as one JSON line that Cloud Logging reads as structured."""
        entry = self._catalog.add_log(
            BackupLog(
                actor=actor,
                action=action,
                created_at=self._clock.now(),
                backup_id=backup_id,
                details=dict(details or {}),
            )
        )
        _log.info(
            json.dumps(
                {
                    "severity": severity,
                    "message": f"{actor} {action}" + (f" {backup_id}" if backup_id else ""),
                    "audit": entry.to_dict(),
                },
                default=str,
            )
        )
        return entry
