"""Showing and changing the service's settings, audited with what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from shared.models import AuditAction, BackupSettings
from shared.services.context import ServiceContext
from shared.settings_rules import apply_changes


class SettingsService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def get(self) -> BackupSettings:
        return self._ctx.catalog.get_settings()

    def update(self, changes: Mapping[str, Any], actor: str) -> BackupSettings:
        """Validate all changes first; nothing is saved unless every one is valid."""
        current = self._ctx.catalog.get_settings()
        updated = apply_changes(current, changes)
        updated.updated_at = self._ctx.clock.now()
        before, after = asdict(current), asdict(updated)
        changed = {
            key: {"from": before[key], "to": after[key]} for key in changes if before[key] != after[key]
        }
        self._ctx.catalog.save_settings(updated)
        self._ctx.auditor.record(actor, AuditAction.SETTINGS_CHANGE, None, {"changed": changed})
        return updated
