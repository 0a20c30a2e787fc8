"""Showing and saving settings, together with what they drive: the Cloud Scheduler job and the Drive
credentials secret.

Order, so that a failure leaves nothing half-saved: validate everything → update the Scheduler job →
store new Drive credentials (a new Secret Manager version) → save the settings → one audit entry.
A failure after the Scheduler update puts the job back as it was (and says so if that fails too).
A secret version that was stored before the settings save failed stays; it is the caller's own new value,
and the next attempt stores it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from shared.errors import BackupServiceError, ConfigurationError
from shared.models import AuditAction, BackupSettings
from shared.schedule_sync import NoScheduleSync, ScheduleSpec, ScheduleSync, ScheduleSyncError, schedule_for
from shared.services.context import ServiceContext
from shared.settings_rules import apply_changes

_log = logging.getLogger("backup.settings")


class SettingsService:
    def __init__(self, context: ServiceContext, schedule: ScheduleSync | None = None) -> None:
        """`schedule` None: no Scheduler job to keep in step (local use)."""
        self._ctx = context
        self._schedule = schedule if schedule is not None else NoScheduleSync()

    def get(self) -> BackupSettings:
        return self._ctx.catalog.get_settings()

    def update(
        self, changes: Mapping[str, Any], actor: str, drive_credentials: str | None = None
    ) -> BackupSettings:
        """Raises `SettingsValidationError` (nothing touched), `ScheduleSyncError`, or the storing error."""
        ctx = self._ctx
        current = ctx.catalog.get_settings()
        updated = apply_changes(current, changes)
        updated.updated_at = ctx.clock.now()
        if drive_credentials is not None and ctx.secrets is None:
            raise ConfigurationError("no secrets store is configured, so Drive credentials cannot be saved")

        previous = self._schedule.read()
        wanted = schedule_for(updated)
        moved = previous is not None and previous != wanted
        if moved:
            assert previous is not None
            try:
                self._schedule.write(wanted)
            except ScheduleSyncError as exc:
                self._put_back(previous, exc)  # the job may be half-changed (schedule moved, not paused)
                raise
        try:
            if drive_credentials is not None:
                assert ctx.secrets is not None
                ctx.secrets.add_version(ctx.config.drive.oauth_secret, drive_credentials)
            ctx.catalog.save_settings(updated)
        except Exception as exc:
            if moved:
                assert previous is not None
                self._put_back(previous, exc)
            raise

        before, after = asdict(current), asdict(updated)
        changed: dict[str, Any] = {
            key: {"from": before[key], "to": after[key]} for key in changes if before[key] != after[key]
        }
        if drive_credentials is not None:
            changed["drive_credentials"] = "replaced (value not recorded)"
        details: dict[str, Any] = {"changed": changed}
        if moved:
            details["schedule"] = {
                "cron": wanted.cron,
                "time_zone": wanted.time_zone,
                "paused": wanted.paused,
            }
        ctx.auditor.record(actor, AuditAction.SETTINGS_CHANGE, None, details)
        return updated

    def _put_back(self, previous: ScheduleSpec, cause: Exception) -> None:
        try:
            self._schedule.write(previous)
        except ScheduleSyncError as again:
            _log.error(
                "settings were not saved (%s), and putting the Scheduler job back failed too: %s; "
                "save the settings again to bring the job in step",
                type(cause).__name__,
                again,
            )
            raise BackupServiceError(
                "settings were not saved, and the Scheduler job could not be put back: save the settings "
                "again to bring the job in step"
            ) from cause
