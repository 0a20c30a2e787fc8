"""Showing and saving settings, together with what they drive: the Cloud Scheduler backup and cleanup
jobs and the Drive credentials secret.

One save at a time: a save holds the catalog lock `settings-save` from reading the settings to the audit
entry; another save meanwhile is refused with `BusyError` (409) rather than interleaved, which could leave
the jobs and the settings out of step and lose one of the changes.

Order, so that a failure leaves nothing half-saved: validate everything (new Drive credentials are checked
as the wiring will read them) → update the Scheduler jobs → store new Drive credentials (a new Secret
Manager version) → save the settings → one audit entry. A failure after a Scheduler update puts every job
that was changed back as it was (and says so if that fails too). A secret version that was stored before
the settings save failed stays; it is the caller's own new value, and the next attempt stores it again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from shared.errors import BackupServiceError, BusyError, ConfigurationError
from shared.models import AuditAction, BackupSettings, StorageKind
from shared.notify.base import describe_error
from shared.schedule_sync import JobMove, SchedulerJobs, ScheduleSyncError, moves_for
from shared.services.context import ServiceContext
from shared.settings_rules import (
    SettingsValidationError,
    apply_changes,
    drive_credentials_problems,
    drive_switch_problems,
)

_log = logging.getLogger("backup.settings")

SAVE_LOCK = "settings-save"
SAVE_LOCK_TTL = timedelta(minutes=2)
"""Longer than a save takes (backup_settings times out after 60 s); a crashed save's lock frees itself."""


class SettingsService:
    def __init__(self, context: ServiceContext, schedule: SchedulerJobs | None = None) -> None:
        """`schedule` None: no Scheduler jobs to keep in step (local use)."""
        self._ctx = context
        self._jobs = schedule if schedule is not None else SchedulerJobs()

    def get(self) -> BackupSettings:
        return self._ctx.catalog.get_settings()

    def update(
        self,
        changes: Mapping[str, Any],
        actor: str,
        drive_credentials: str | None = None,
        authorize: Callable[[BackupSettings, BackupSettings], None] | None = None,
    ) -> BackupSettings:
        """Raises `SettingsValidationError` (nothing touched), `BusyError` (another save is running),
        `ScheduleSyncError`, or the storing error. `authorize(current, updated)`, called under the save
        lock before anything is changed, may refuse the change by raising."""
        with self._save_lock():
            current = self._ctx.catalog.get_settings()
            updated = self._validated(current, changes, drive_credentials)
            if authorize is not None:
                authorize(current, updated)
            moves = moves_for(self._jobs, updated)
            self._apply(moves, updated, drive_credentials)
            self._audit(actor, current, updated, changes, moves, drive_credentials)
            return self._stored(updated)

    @contextmanager
    def _save_lock(self) -> Iterator[None]:
        ctx = self._ctx
        owner = f"settings-{uuid.uuid4().hex[:12]}"
        if not ctx.catalog.acquire_lock(SAVE_LOCK, owner, ctx.clock.now(), SAVE_LOCK_TTL):
            raise BusyError(
                "another settings save is in progress; try again in a moment (a lock left by a crashed "
                f"save expires after {int(SAVE_LOCK_TTL.total_seconds())} s)"
            )
        try:
            yield
        finally:
            ctx.catalog.release_lock(SAVE_LOCK, owner)

    def _validated(
        self, current: BackupSettings, changes: Mapping[str, Any], drive_credentials: str | None
    ) -> BackupSettings:
        ctx = self._ctx
        if drive_credentials is not None and ctx.secrets is None:
            raise ConfigurationError("no secrets store is configured, so Drive credentials cannot be saved")
        problems = drive_credentials_problems(drive_credentials) if drive_credentials is not None else {}
        problems.update(drive_switch_problems(changes, current, ctx.config.storage_targets))
        try:
            updated = apply_changes(current, changes)
        except SettingsValidationError as exc:
            raise SettingsValidationError({**exc.errors, **problems}) from None
        problems.update(self._storage_problems(updated))
        if problems:
            raise SettingsValidationError(problems)
        updated.updated_at = ctx.clock.now()
        return updated

    def _storage_problems(self, settings: BackupSettings) -> dict[str, str]:
        """What would stop the functions from building their Drive storage with these settings."""
        config = self._ctx.config
        if StorageKind.DRIVE in config.storage_targets and not (
            settings.google_drive_folder_id or config.drive.folder_id
        ):
            needed = "required: BACKUP_STORAGE includes drive and BACKUP_DRIVE_FOLDER_ID is not set"
            return {"google_drive_folder_id": needed}
        return {}

    def _apply(self, moves: list[JobMove], updated: BackupSettings, drive_credentials: str | None) -> None:
        ctx = self._ctx
        started: list[JobMove] = []
        try:
            for move in moves:
                started.append(move)  # before writing: a failed write may leave the job half-changed
                move.sync.write(move.after)
            if drive_credentials is not None:
                assert ctx.secrets is not None
                ctx.secrets.add_version(ctx.config.drive.oauth_secret, drive_credentials)
            ctx.catalog.save_settings(updated)
        except Exception as exc:
            self._put_back(started, exc)
            raise

    def _audit(
        self,
        actor: str,
        current: BackupSettings,
        updated: BackupSettings,
        changes: Mapping[str, Any],
        moves: list[JobMove],
        drive_credentials: str | None,
    ) -> None:
        before, after = asdict(current), asdict(updated)
        changed: dict[str, Any] = {
            key: {"from": before[key], "to": after[key]} for key in changes if before[key] != after[key]
        }
        if drive_credentials is not None:
            changed["drive_credentials"] = "replaced (value not recorded)"
        details: dict[str, Any] = {"changed": changed}
        for move in moves:
            key = "schedule" if move.job == "backup" else f"{move.job}_schedule"
            details[key] = asdict(move.after)
        self._ctx.auditor.record(actor, AuditAction.SETTINGS_CHANGE, None, details)

    def _stored(self, saved: BackupSettings) -> BackupSettings:
        """The settings as the catalog stored them (it stamps `updated_at` itself), so the answer matches
        what GET shows; `saved` if they cannot be read back, since the save itself succeeded."""
        try:
            return self._ctx.catalog.get_settings()
        except Exception as exc:
            _log.warning("settings were saved but could not be read back: %s", describe_error(exc))
            return saved

    def _put_back(self, started: list[JobMove], cause: Exception) -> None:
        """Every job that was (or may have been) changed back to how it was, the last one first."""
        failed: list[str] = []
        for move in reversed(started):
            try:
                move.sync.write(move.before)
            except ScheduleSyncError as again:
                _log.error(
                    "settings were not saved (%s), and putting the %s Scheduler job back failed too: %s",
                    type(cause).__name__,
                    move.job,
                    again,
                )
                failed.append(move.job)
        if failed:
            raise BackupServiceError(
                f"settings were not saved, and the {' and '.join(failed)} Scheduler job could not be put "
                "back: save the settings again to bring the jobs in step"
            ) from cause
