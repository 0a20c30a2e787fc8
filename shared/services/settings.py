"""Showing and saving settings, together with what they drive: the Cloud Scheduler backup and cleanup
jobs and the Drive credentials secret.

One save at a time: a save holds the catalog lock `settings-save` from reading the settings to the audit
entry; another save meanwhile is refused with `BusyError` (409) rather than interleaved, which could leave
the jobs and the settings out of step and lose one of the changes.

Order, so that a failure leaves nothing half-saved: validate everything (new Drive credentials are checked
as the wiring will read them) → update the Scheduler jobs → store new Drive credentials (a new Secret
Manager version) → save the settings → one audit entry. A failure after a Scheduler update puts every job
that was changed back as it was (and says so if that fails too, in a CRITICAL log line naming the job and
how it differs from the settings). A secret version that was stored before the settings save failed stays;
it is the caller's own new value, and the next attempt stores it again.

A save that is refused or fails is audited too (`outcome` refused or failed, the error, and for a failure
after a Scheduler update whether each job was put back); not invalid settings, which change nothing, nor a
denial, which is audited as `access_denied`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from shared.auth.errors import PermissionDeniedError
from shared.errors import BackupServiceError, BusyError, ConfigurationError
from shared.models import AuditAction, BackupSettings, StorageKind
from shared.schedule_sync import JobMove, SchedulerJobs, ScheduleSpec, ScheduleSyncError, moves_for
from shared.services.context import ServiceContext
from shared.services.refusals import describe_error, refusals_audited
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
        unaudited = (SettingsValidationError, PermissionDeniedError)  # nothing changed; a denial is audited
        with ExitStack() as held:
            with refusals_audited(self._ctx.auditor, actor, AuditAction.SETTINGS_CHANGE, unless=unaudited):
                held.enter_context(self._save_lock())
                current = self._ctx.catalog.get_settings()
                updated = self._validated(current, changes, drive_credentials)
                if authorize is not None:
                    authorize(current, updated)
                moves = moves_for(self._jobs, updated)
            self._apply(moves, updated, drive_credentials, actor)
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

    def _apply(
        self, moves: list[JobMove], updated: BackupSettings, drive_credentials: str | None, actor: str
    ) -> None:
        """Update the jobs, store the credentials, save the settings; on failure, put the jobs back and
        audit the failed save."""
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
            put_back = self._put_back(started, exc)
            self._audit_failure(actor, exc, put_back)
            if not all(put_back.values()):
                left = " and ".join(job for job, done in put_back.items() if not done)
                raise BackupServiceError(
                    f"settings were not saved, and the {left} Scheduler job could not be put back: save the "
                    "settings again to bring the jobs in step"
                ) from exc
            raise

    def _audit_failure(self, actor: str, exc: Exception, put_back: dict[str, bool]) -> None:
        details = {"outcome": "failed", "error": describe_error(exc), "jobs_put_back": put_back}
        self._ctx.auditor.record(actor, AuditAction.SETTINGS_CHANGE, None, details, severity="ERROR")

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

    def _put_back(self, started: list[JobMove], cause: Exception) -> dict[str, bool]:
        """Every job that was (or may have been) changed back to how it was, the last one first; whether
        each was."""
        put_back: dict[str, bool] = {}
        for move in reversed(started):
            try:
                move.sync.write(move.before)
            except ScheduleSyncError as again:
                self._report_out_of_step(move, cause, again)
                put_back[move.job] = False
            else:
                put_back[move.job] = True
        return put_back

    def _report_out_of_step(self, move: JobMove, cause: Exception, again: ScheduleSyncError) -> None:
        """CRITICAL: a job left out of step with the stored settings, as it is now against as they want it,
        so that an operator can set it by hand."""
        scheduler = self._ctx.config.scheduler
        name = (scheduler.backup_job if move.job == "backup" else scheduler.cleanup_job) or move.job
        _log.critical(
            "SCHEDULER JOB OUT OF STEP WITH THE SETTINGS: settings were not saved (%s), and putting the %s "
            "Scheduler job %s back failed too (%s). The job is %s; the stored settings want %s. Set the job "
            "so by hand (Cloud Console or gcloud scheduler jobs update/pause/resume), or save the settings "
            "again.",
            describe_error(cause),
            move.job,
            name,
            describe_error(again),
            self._state_now(move),
            _describe_spec(move.before),
        )

    def _state_now(self, move: JobMove) -> str:
        try:
            now = move.sync.read()
        except Exception as exc:
            return (
                f"unknown: it could not be read either ({describe_error(exc)}); this save may have left it "
                f"{_describe_spec(move.after)}"
            )
        return "gone" if now is None else f"now {_describe_spec(now)}"


def _describe_spec(spec: ScheduleSpec) -> str:
    state = "PAUSED" if spec.paused else "ENABLED"
    return f"schedule {spec.cron!r} in time zone {spec.time_zone}, {state}"
