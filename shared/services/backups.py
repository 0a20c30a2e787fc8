"""Creating a backup: pending → running → completed or failed, streamed to every storage target."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from shared.compression import make_compressor
from shared.dburl import DatabaseURL
from shared.engines.base import DumpReport
from shared.errors import ConfigurationError, LockLostError, RecordChangedError
from shared.models import (
    AuditAction,
    Backup,
    BackupSource,
    BackupStatus,
    DatabaseInfo,
    StorageKind,
    StorageLocation,
)
from shared.notify.base import backup_failed
from shared.pipeline import ProgressCallback, begin_uploads, run_pipeline
from shared.services.backup_ids import backup_filename, new_backup_id
from shared.services.context import ServiceContext
from shared.services.degraded import report_degraded
from shared.services.interrupted import end_restore_mark, settle_interrupted_runs
from shared.services.leftovers import discard_failed_uploads, discard_files
from shared.services.locking import DatabaseLock, lock_name
from shared.services.refusals import describe_error as describe_error
from shared.services.refusals import refusals_audited
from shared.services.stored_outcome import UNFINISHED, Stored, stored_outcome
from shared.storage.base import Storage
from shared.time_limit import TimeLimit


@dataclass(frozen=True)
class _FailedStorages:
    """The storages a completed backup could not be stored in."""

    uploads: dict[StorageKind, Storage]
    """Those whose upload began and failed: whatever they left must go."""
    reasons: dict[StorageKind, str]
    """Every one that failed (or refused to begin), and why."""


_log = logging.getLogger(__name__)

_NOTIFIED_ELSEWHERE = (BackupSource.SCHEDULED, BackupSource.PRE_RESTORE)
"""Scheduled runs mail once after Scheduler's final retry; a failed pre-restore backup fails the restore,
which mails about it."""


class BackupService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def create(
        self,
        actor: str,
        source: BackupSource = BackupSource.MANUAL,
        *,
        protect: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Backup:
        """Take a backup of the configured database. Raises `BusyError` while another run holds it;
        on failure the record is `failed` with the reason, no file is left (unless the catalog could not
        record the failure: see `_fail`), and the error is raised. Refused before a record exists (busy, no
        database configured), it is audited as refused."""
        ctx = self._ctx
        with ExitStack() as held:
            with refusals_audited(ctx.auditor, actor, AuditAction.CREATE, details={"source": str(source)}):
                url = ctx.config.require_database()
                time_limit = ctx.start_time_limit()
                lock = held.enter_context(DatabaseLock(ctx.catalog, ctx.clock, url, ctx.lock_ttl, "backup"))
                settle_interrupted_runs(ctx, url, actor)
            return self.create_while_locked(
                url, actor, source, lock, protect=protect, progress=progress, time_limit=time_limit
            )

    def create_while_locked(
        self,
        url: DatabaseURL,
        actor: str,
        source: BackupSource,
        lock: DatabaseLock,
        *,
        protect: bool = False,
        progress: ProgressCallback | None = None,
        time_limit: TimeLimit | None = None,
        restoring: str | None = None,
    ) -> Backup:
        """Take a backup; the caller holds the database's `lock` (restore does, for its pre-restore
        backup). `time_limit`: the operation's, already running (default: one starting now). `restoring`:
        the backup a restore will load once this pre-restore backup is taken; the record names it from
        the start, so that nothing deletes it meanwhile, and stops naming it if this backup fails."""
        ctx = self._ctx
        time_limit = time_limit or ctx.start_time_limit()
        now = ctx.clock.now()
        backup_id = new_backup_id()
        compression = ctx.config.compression
        backup = Backup(
            id=backup_id,
            filename=backup_filename(url.database, now, backup_id, compression),
            database=DatabaseInfo(
                engine=url.engine, name=url.database, host=url.cloudsql_instance or url.host
            ),
            source=source,
            created_by=actor,
            created_at=now,
            compression=compression,
            is_protected=protect,
            run_lock=lock_name(url),
            restoring=restoring,
        )
        with refusals_audited(ctx.auditor, actor, AuditAction.CREATE, backup.id, {"source": str(source)}):
            ctx.catalog.add_backup(backup)
            backup.status = BackupStatus.RUNNING
            ctx.catalog.update_backup(backup)
        try:
            failed = self._run(url, backup, progress, time_limit, lock)
        except (Exception, KeyboardInterrupt) as exc:  # Ctrl-C fails the backup as any error does
            self._fail(backup, actor, exc)
            raise
        # Completed and recorded: nothing from here on may fail it (and so delete its files).
        discard_failed_uploads(ctx, backup, failed.uploads)
        report_degraded(ctx, backup, failed.reasons)
        ctx.auditor.record(
            actor,
            AuditAction.CREATE,
            backup.id,
            {
                "source": str(source),
                "file_size": backup.file_size,
                "sha256": backup.sha256,
                "locations": [str(loc.kind) for loc in backup.locations],
                "warnings": backup.warnings,
            },
        )
        return backup

    def _run(
        self,
        url: DatabaseURL,
        backup: Backup,
        progress: ProgressCallback | None,
        time_limit: TimeLimit,
        lock: DatabaseLock,
    ) -> _FailedStorages:
        """Dump, store and record the backup as completed; the storages that failed it."""
        ctx = self._ctx
        engine = ctx.engine_factory(url)
        report = DumpReport()
        if not ctx.write_targets:
            raise ConfigurationError("no storage target is enabled for new backups (see BACKUP_STORAGE)")
        # What can fail before the first byte (a bad level, a PostgreSQL server that refuses) fails before
        # any upload has begun.
        compressor = make_compressor(backup.compression, ctx.config.compression_level)
        dump = lock.guard(time_limit.guard(engine.dump(report), "the backup"))
        uploads, refused = begin_uploads(ctx.write_targets, backup.filename)
        result = run_pipeline(dump, compressor, uploads, progress)
        failed_uploads = {kind: ctx.storages[kind] for kind in result.failures}
        result.failures.update(refused)
        backup.file_size = result.stored_size
        backup.raw_size = result.raw_size
        backup.sha256 = result.sha256
        backup.locations = [StorageLocation(kind, ref) for kind, ref in result.refs.items()]
        backup.table_rows = dict(report.tables)
        backup.database.server_version = report.server_version
        backup.warnings = (
            list(report.warnings)
            + [
                f"storage {kind} failed, the backup is kept elsewhere: {reason}"
                for kind, reason in result.failures.items()
            ]
        )
        lock.check()  # another run, having taken the lock, has settled this record as interrupted
        backup.status = BackupStatus.COMPLETED
        backup.completed_at = ctx.clock.now()
        try:
            # Conditional: this run may have stalled past its lock while the next one settled the record.
            ctx.catalog.update_backup(backup, if_status=(BackupStatus.RUNNING,))
        except RecordChangedError as exc:
            raise LockLostError(f"{exc}, so this run stopped before recording it as completed") from exc
        return _FailedStorages(failed_uploads, dict(result.failures))

    def _fail(self, backup: Backup, actor: str, exc: BaseException) -> None:
        """Record the backup as failed, then remove its files: in that order, since a completion write that
        seemed to fail may have been applied, and a record saying completed must never lose its files. Never
        raises, so that the caller raises `exc` itself: when the catalog cannot record the failure, the files
        stay (the next run on the database settles the record), and the failure is still logged, audited
        and mailed."""
        ctx = self._ctx
        backup.status = BackupStatus.FAILED
        backup.completed_at = ctx.clock.now()
        backup.error_message = describe_error(exc)
        backup.restoring = None  # no restore goes on from a pre-restore backup that failed
        try:
            ctx.catalog.update_backup(backup, if_status=UNFINISHED)
        except RecordChangedError:
            self._leave_to_the_record(backup, actor)
            return
        except Exception as unrecorded:
            self._report_failure(backup, actor, _unrecorded(backup, unrecorded))
            return
        backup.warnings = [*backup.warnings, *discard_files(ctx, backup, ctx.write_targets)]
        try:
            ctx.catalog.update_backup(backup, only=("locations", "warnings"))
        except Exception as unrecorded:
            _log.error(
                "backup %s failed and its files were removed, but its record could not be updated, so it "
                "may still name them: %s",
                backup.id,
                describe_error(unrecorded),
            )
        self._report_failure(backup, actor)

    def _report_failure(self, backup: Backup, actor: str, details: dict[str, Any] | None = None) -> None:
        """Audit the failure (a store that fails is logged by the auditor) and mail it unless the caller
        does (`_NOTIFIED_ELSEWHERE`); the notifier never raises."""
        ctx = self._ctx
        error = backup.error_message or "failed"
        ctx.auditor.record(
            actor,
            AuditAction.CREATE,
            backup.id,
            {"outcome": "failed", "error": error, **(details or {})},
            severity="ERROR",
        )
        if backup.source not in _NOTIFIED_ELSEWHERE:
            completed_at = backup.completed_at or ctx.clock.now()
            ctx.notifier.send(backup_failed(backup.database, error, completed_at, backup.id))

    def _leave_to_the_record(self, backup: Backup, actor: str) -> None:
        """The record is not this run's to fail any more: another run settled it as interrupted (and
        reported it), or the completion write this run saw fail was applied after all."""
        ctx = self._ctx
        outcome = stored_outcome(ctx.catalog, backup)
        if outcome is Stored.NOT_COMPLETED:  # what this run stored after the other run removed the files
            discard_files(ctx, backup, ctx.write_targets)
        _log.warning("backup %s failed, but its record is %s now: left as stored", backup.id, outcome.value)
        if outcome is Stored.COMPLETED:
            completed = {"outcome": "completed", "sha256": backup.sha256, "error": backup.error_message}
            ctx.auditor.record(actor, AuditAction.CREATE, backup.id, completed, severity="WARNING")
        if outcome is Stored.COMPLETED and backup.source is BackupSource.PRE_RESTORE:
            # Stored after all, but its restore does not start: its mark must go, or the next run would
            # report an interrupted restore that may have left the database incomplete.
            try:
                stored = ctx.catalog.get_backup(backup.id)
                if stored.restoring is not None:
                    end_restore_mark(ctx.catalog, stored)
            except Exception:
                _log.exception("could not clear the restore mark of pre-restore backup %s", backup.id)


def _unrecorded(backup: Backup, unrecorded: Exception) -> dict[str, Any]:
    """Log a failure that the catalog could not record, with its own error; what the audit adds about it."""
    why = describe_error(unrecorded)
    _log.error(
        "backup %s failed: %s. Recording the failure failed too (%s): the record may still say running, and "
        "its files are kept until the next run on the database settles it",
        backup.id,
        backup.error_message,
        why,
    )
    return {"recorded": False, "record_error": why}
