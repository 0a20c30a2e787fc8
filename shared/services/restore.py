"""Safe restore: verify the file → pre-restore backup → restore → on failure, put the pre-restore back
(unless the engine rolled the whole restore back, as a PostgreSQL restore in one transaction does)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from enum import StrEnum

from shared.catalog.base import Catalog
from shared.compression import decompress_stream
from shared.dburl import DatabaseURL
from shared.errors import InvalidInputError, LockLostError, RestoreError
from shared.models import AuditAction, Backup, BackupSource
from shared.notify.base import DatabaseAfter, database_after, restore_failed
from shared.pipeline import ProgressCallback
from shared.services.backups import BackupService, describe_error
from shared.services.context import ServiceContext
from shared.services.interrupted import end_restore_mark, settle_interrupted_runs
from shared.services.locking import DatabaseLock
from shared.services.reading import (
    check_copy,
    counted,
    missing_file_error,
    open_backup,
    open_copy,
    report_damaged_copies,
    require_completed,
    stored_copies,
    verify_backup_file,
)
from shared.services.refusals import refusals_audited
from shared.time_limit import Reserve

_log = logging.getLogger("backup.restore")


class RestorePhase(StrEnum):
    CHECK = "checking the file"
    PRE_RESTORE_BACKUP = "pre-restore backup"
    LOAD = "restoring"
    PUT_BACK = "putting the database back"


PhaseProgress = Callable[[RestorePhase, int, int], None]
"""Called with the phase under way and its (bytes read, bytes stored) so far; each phase counts from 0.
Reading a stored file counts its compressed bytes, as read and as stored."""


@dataclass(frozen=True)
class RestoreOutcome:
    backup: Backup
    pre_restore_backup: Backup


class RestoreService:
    def __init__(self, context: ServiceContext, backups: BackupService) -> None:
        self._ctx = context
        self._backups = backups

    def restorable(self, backup_id: str) -> tuple[DatabaseURL, Backup]:
        """The configured database and backup `backup_id`, once it is one that could be restored into it
        (completed, of the database's engine); else the error a restore would raise, changing nothing."""
        url = self._ctx.config.require_database()
        backup = self._ctx.catalog.get_backup(backup_id)
        require_completed(backup)
        _require_engine(backup, url)
        return url, backup

    def restore(
        self,
        backup_id: str,
        actor: str,
        progress: ProgressCallback | None = None,
        *,
        phase_progress: PhaseProgress | None = None,
    ) -> RestoreOutcome:
        """Replace the configured database's contents with backup `backup_id`.

        `progress` follows the load only (`RestorePhase.LOAD`); `phase_progress` every phase.
        Raises `RestoreError` when the restore fails; the message says whether the database was put
        back from the pre-restore backup, and gives both errors when that failed too. Refused before it
        starts (no such backup, not completed, busy), it is audited as refused."""
        ctx = self._ctx
        audit = ctx.auditor
        with ExitStack() as held:
            with refusals_audited(ctx.auditor, actor, AuditAction.RESTORE, backup_id):
                url, backup = self.restorable(backup_id)
                time_limit = ctx.start_time_limit()
                lock = held.enter_context(DatabaseLock(ctx.catalog, ctx.clock, url, ctx.lock_ttl, "restore"))
                settle_interrupted_runs(ctx, url, actor)
            audit.record(actor, AuditAction.RESTORE, backup.id, {"outcome": "started", "into": url.database})
            pre: Backup | None = None
            try:
                checking = _phase(RestorePhase.CHECK, phase_progress)
                sound = verify_backup_file(ctx, backup, time_limit, checking)
                report_damaged_copies(ctx, actor, backup, sound.damaged, sound.kind)
                pre = self._backups.create_while_locked(
                    url,
                    actor,
                    BackupSource.PRE_RESTORE,
                    lock,
                    progress=_phase(RestorePhase.PRE_RESTORE_BACKUP, phase_progress),
                    time_limit=time_limit,
                    restoring=backup.id,
                )
                stored = open_backup(ctx, backup, sound.kind)
            except (Exception, KeyboardInterrupt) as exc:
                if pre is not None:
                    _clear_mark_quietly(ctx.catalog, pre)
                audit.record(
                    actor,
                    AuditAction.RESTORE,
                    backup.id,
                    {"outcome": "refused", "error": describe_error(exc), "database_touched": False},
                    severity="ERROR",
                )
                refused = restore_failed(
                    backup.database, exc, ctx.clock.now(), backup.id, after=DatabaseAfter.UNCHANGED
                )
                ctx.notifier.send(refused)
                raise
            engine = ctx.engine_factory(url)
            # A restore that has committed part of its work stops early enough to leave time for putting
            # it back.
            reserve = put_back_reserve(pre.raw_size or 0, lambda: not engine.restores_in_one_transaction)
            sql = decompress_stream(counted(stored, _phase(RestorePhase.LOAD, phase_progress, progress)))
            with _restoring(ctx.catalog, pre) as ending:
                try:
                    engine.restore(lock.guard(time_limit.guard(sql, "the restore", reserve)))
                # Ctrl-C on the command line is a failure like any other: the database is put back.
                except (Exception, KeyboardInterrupt) as first:
                    unchanged = isinstance(first, RestoreError) and first.database_unchanged
                    put_back_error = None if unchanged else self._put_back(pre, first, actor, phase_progress)
                    message = _failure_message(pre, first, unchanged, put_back_error)
                    if put_back_error is not None:
                        ending.protect_because = _kept_for_hand_restore(backup.id)
                    audit.record(
                        actor,
                        AuditAction.RESTORE,
                        backup.id,
                        {
                            "outcome": "failed",
                            "error": message,
                            "pre_restore_backup_id": pre.id,
                            "put_back": not unchanged,
                            "database_as_before": put_back_error is None,
                        },
                        severity="ERROR",
                    )
                    ctx.notifier.send(
                        restore_failed(
                            backup.database,
                            message,
                            ctx.clock.now(),
                            backup.id,
                            pre.id,
                            database_after(changed=not unchanged, put_back=put_back_error is None),
                        )
                    )
                    raise RestoreError(message) from first
            audit.record(
                actor,
                AuditAction.RESTORE,
                backup.id,
                {"outcome": "completed", "pre_restore_backup_id": pre.id},
            )
            return RestoreOutcome(backup, pre)

    def _put_back(
        self, pre: Backup, first: BaseException, actor: str, phase_progress: PhaseProgress | None
    ) -> str | None:
        """Restore the pre-restore backup; None when that worked, else why not."""
        if _lock_lost(first):
            return "it was not tried, since another run may be working on the database now"
        try:
            return self._put_back_from_a_sound_copy(pre, actor, _phase(RestorePhase.PUT_BACK, phase_progress))
        except Exception as second:
            return _sentence(second)
        except KeyboardInterrupt as stopped:  # a second Ctrl-C: the failure is still protected and reported
            return f"putting it back was stopped, {_sentence(stopped)}"

    def _put_back_from_a_sound_copy(
        self, pre: Backup, actor: str, progress: ProgressCallback | None
    ) -> str | None:
        """Restore `pre` from its first copy; should that fail, the copy is read whole to check it, and a
        damaged one is passed over for the next. None when a restore worked, else why none did."""
        ctx = self._ctx
        engine = ctx.engine_factory(ctx.config.require_database())
        damaged: list[str] = []
        for copy in stored_copies(ctx, pre):
            try:
                engine.restore(decompress_stream(counted(open_copy(pre, copy), progress)))
            except Exception as failure:
                note = check_copy(pre, copy)
                if note is None:
                    return "; ".join([*damaged, _sentence(failure)])
                damaged.append(note)
                continue
            report_damaged_copies(ctx, actor, pre, damaged, copy.kind)
            return None
        return "; ".join(damaged) or _sentence(missing_file_error(pre))


def _require_engine(backup: Backup, url: DatabaseURL) -> None:
    if backup.database.engine != url.engine:
        raise InvalidInputError(
            f"backup {backup.id} is a {backup.database.engine} dump; it cannot be restored into the "
            f"{url.engine} database {url.database!r}"
        )


def _kept_for_hand_restore(restored_id: str) -> str:
    """The warning of a pre-restore backup protected from retention as the only copy of the database as it
    was, since putting it back failed."""
    return f"protected: putting it back after the restore of {restored_id} failed"


def _lock_lost(error: BaseException) -> bool:
    """Whether `error` is, or was caused by, the database's lock passing to another run (an engine may
    wrap it, to say whether it changed the database)."""
    seen: BaseException | None = error
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        if isinstance(seen, LockLostError):
            return True
        visited.add(id(seen))
        seen = seen.__cause__ or seen.__context__
    return False


def _failure_message(pre: Backup, first: BaseException, unchanged: bool, put_back_error: str | None) -> str:
    failed = f"restore failed: {_sentence(first)}."
    if unchanged:
        return (
            f"{failed} The database was not changed, so the pre-restore backup {pre.id} was not needed "
            "to put it back."
        )
    if put_back_error is None:
        return f"{failed} The database was put back as it was, from the pre-restore backup {pre.id}."
    return (
        f"{failed} The pre-restore backup {pre.id} could NOT be put back: {put_back_error}. The database "
        f"may be incomplete: restore backup {pre.id} by hand (see README, 'Restoring by hand'); it is "
        "protected so that retention keeps it."
    )


@dataclass
class _RestoreEnd:
    protect_because: str | None = None
    """Set when the pre-restore backup must be protected as the restore ends: the warning saying why."""


@contextmanager
def _restoring(catalog: Catalog, pre: Backup) -> Iterator[_RestoreEnd]:
    """Keep the pre-restore backup's mark, the restore under way, until it has ended either way; a mark
    left behind tells the next run on the database that this restore was interrupted."""
    ending = _RestoreEnd()
    try:
        yield ending
    except Exception:
        _clear_mark_quietly(catalog, pre, ending.protect_because)
        raise
    except BaseException:
        raise  # stopped half-way (a second Ctrl-C, SystemExit): the mark stays for the next run to report
    _clear_mark_quietly(catalog, pre)


def _clear_mark_quietly(catalog: Catalog, pre: Backup, protect_because: str | None = None) -> None:
    """Clear the mark of a restore that ended (protecting the pre-restore backup, in the same write, when
    `protect_because`), without hiding its outcome; a mark that stays is reported by the next run as an
    interrupted restore, which protects the pre-restore backup: the safe mistake."""
    try:
        end_restore_mark(catalog, pre, protect_because)
    except Exception:
        _log.exception("could not record the end of the restore on pre-restore backup %s", pre.id)


PACE_SETTLES_SECONDS = 5.0
"""How long a restore runs before its pace counts for the put-back estimate (its start is DDL and drops)."""
PUT_BACK_HEADROOM = 1.5


def put_back_reserve(pre_restore_sql_bytes: int, needed: Callable[[], bool] = lambda: True) -> Reserve:
    """The seconds to keep for putting back a pre-restore backup of that many bytes of SQL: as long as this
    restore would take for them at its pace so far, plus half (tables differ in their cost per byte, and the
    one a restore starts with may be the cheapest); nothing before that pace settles, or while `needed`
    says no put-back would be (nothing committed yet)."""

    def reserve(restored: int, seconds: float) -> float:
        if seconds < PACE_SETTLES_SECONDS or restored <= 0 or not needed():
            return 0.0
        return pre_restore_sql_bytes * seconds / restored * PUT_BACK_HEADROOM

    return reserve


def _sentence(error: BaseException) -> str:
    """The error's description without a final full stop, for a message that goes on after it."""
    return describe_error(error).rstrip(". ")


def _phase(
    phase: RestorePhase, phase_progress: PhaseProgress | None, also: ProgressCallback | None = None
) -> ProgressCallback | None:
    """The progress callback of one phase: `phase_progress` told which phase it is, then `also`."""
    if phase_progress is None:
        return also

    def report(read: int, stored: int) -> None:
        phase_progress(phase, read, stored)
        if also is not None:
            also(read, stored)

    return report
