"""A backup that fails while the catalog cannot record the failure: its own error is still raised, logged,
audited and mailed, and its files stay, since the record may say completed (a completion write applied but
unanswered) until the next run on the database settles it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shared.catalog.base import BackupFilter
from shared.clock import FixedClock
from shared.dburl import DatabaseURL
from shared.errors import CatalogUnavailableError
from shared.models import AuditAction, Backup, BackupSource, BackupStatus
from shared.notify.base import DatabaseAfter, NotificationKind
from shared.services.backups import BackupService
from shared.services.interrupted import settle_if_abandoned
from shared.services.restore import RestoreService
from tests.catalog.strategies import make_backup
from tests.functions.conftest import RecordingNotifier
from tests.services.unanswered_writes import flaky_context


def _failing_dump(raw: int, stored: int) -> None:
    raise OSError(5, "Input/output error")


@pytest.mark.parametrize("source", [BackupSource.MANUAL, BackupSource.SCHEDULED])
def test_a_failure_the_catalog_cannot_record_is_still_raised_audited_and_mailed(
    tmp_path: Path,
    clock: FixedClock,
    db_url: DatabaseURL,
    source: BackupSource,
    caplog: pytest.LogCaptureFixture,
) -> None:
    context, catalog = flaky_context(tmp_path / "home", db_url, clock)
    notifier = RecordingNotifier()
    context.notifier = notifier
    catalog.lost, catalog.applied = (lambda backup: backup.status is BackupStatus.FAILED), False

    with caplog.at_level(logging.ERROR), pytest.raises(OSError, match="Input/output error"):
        BackupService(context).create("alice", source, progress=_failing_dump)

    [backup] = catalog.list_backups().backups
    assert backup.status is BackupStatus.RUNNING, "the next run on the database settles it"
    [failed] = [log for log in catalog.list_logs(backup.id) if log.details.get("outcome") == "failed"]
    assert failed.action is AuditAction.CREATE and failed.actor == "alice"
    assert "Input/output error" in failed.details["error"] and failed.details["recorded"] is False
    assert "did not answer" in failed.details["record_error"]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(backup.id in line and "Input/output error" in line for line in logged), logged
    mailed = [(n.kind, n.backup_id) for n in notifier.sent if "Input/output error" in n.error]
    expected = [] if source is BackupSource.SCHEDULED else [(NotificationKind.BACKUP_FAILED, backup.id)]
    assert mailed == expected, notifier.sent


def test_a_completion_applied_unanswered_then_a_failure_unrecorded_keeps_the_file(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    context, catalog = flaky_context(tmp_path / "home", db_url, clock)

    def lost(backup: Backup) -> bool:
        catalog.applied = backup.status is BackupStatus.COMPLETED  # the failure write is not applied
        return backup.status in (BackupStatus.COMPLETED, BackupStatus.FAILED)

    catalog.lost = lost
    with pytest.raises(CatalogUnavailableError):
        BackupService(context).create("alice")
    catalog.lost = lambda backup: False
    [backup] = catalog.list_backups().backups
    assert backup.status is BackupStatus.COMPLETED
    folder = context.config.local_backup_dir
    assert [path.name for path in folder.rglob("*") if path.is_file()] == [backup.filename]
    [failed] = [log for log in catalog.list_logs(backup.id) if log.details.get("outcome") == "failed"]
    assert failed.details["recorded"] is False


def test_a_pre_restore_backup_stored_though_unanswered_leaves_no_restore_mark_behind(
    tmp_path: Path, clock: FixedClock, db_url: DatabaseURL
) -> None:
    """The restore refused to start, so the next run must not report it as an interrupted one that may have
    left the database incomplete."""
    context, catalog = flaky_context(tmp_path / "home", db_url, clock)
    notifier = RecordingNotifier()
    context.notifier = notifier
    backups = BackupService(context)
    target = backups.create("alice")
    catalog.lost = lambda b: b.source is BackupSource.PRE_RESTORE and b.status is BackupStatus.COMPLETED
    with pytest.raises(CatalogUnavailableError):
        RestoreService(context, backups).restore(target.id, "alice")
    catalog.lost = lambda b: False
    [pre] = catalog.list_backups(BackupFilter(source=BackupSource.PRE_RESTORE)).backups
    assert pre.status is BackupStatus.COMPLETED and pre.restoring is None

    backups.create("bob")  # the next run on the database settles what it finds
    assert [mail.variant for mail in notifier.sent] == [DatabaseAfter.UNCHANGED]
    assert not catalog.get_backup(pre.id).is_protected


def test_a_settled_run_whose_second_write_is_lost_is_still_audited_and_mailed(
    tmp_path: Path, clock: FixedClock
) -> None:
    """Once recorded failed, no later run settles it again: it is reported when it is settled, or never."""
    context, catalog = flaky_context(tmp_path / "home", None, clock)
    notifier = RecordingNotifier()
    context.notifier = notifier
    dead = make_backup("dead", clock.now(), status=BackupStatus.RUNNING, run_lock="db-x")
    catalog.add_backup(dead)
    catalog.lost_updates_of, catalog.applied = ("locations", "warnings"), False

    assert settle_if_abandoned(context, "db-x", "the next run")

    assert catalog.get_backup("dead").status is BackupStatus.FAILED
    [entry] = [log for log in catalog.list_logs("dead") if log.action is AuditAction.CREATE]
    assert entry.details["outcome"] == "interrupted"
    assert [mail.backup_id for mail in notifier.sent] == ["dead"]
