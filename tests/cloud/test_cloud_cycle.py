"""The production configuration, run here: Firestore catalog, Drive storage, Secret Manager, SendGrid.

Properties 3 (Drive upload on success), 4 (failure notification), 9 (deletion from every location) and
15 (Drive failure degrades gracefully), with real clients against the emulator and the fakes.
"""

from __future__ import annotations

import hashlib

import pytest

from shared.compression import decompress_stream
from shared.dburl import DatabaseURL
from shared.errors import NotFoundError, StorageError
from shared.models import BackupStatus, StorageKind
from shared.services.backups import BackupService
from shared.services.cleanup import CleanupService
from shared.services.download import DownloadService
from shared.services.drive_check import check_drive
from shared.services.records import RecordService
from shared.services.restore import RestoreService
from shared.services.settings import SettingsService
from tests.cloud.conftest import CloudFactory
from tests.fakes.drive_server import DriveFake
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.sample_data import execute, fingerprint


def _drive_bytes(drive_fake: DriveFake, file_id: str) -> bytes:
    return drive_fake.files[file_id].content


def test_full_cycle_on_firestore_and_drive(
    cloud: CloudFactory, database: DatabaseURL, drive_fake: DriveFake
) -> None:
    context = cloud("drive")
    original = fingerprint(database)
    backup = BackupService(context).create("ops@example.com")
    assert backup.status is BackupStatus.COMPLETED
    assert [loc.kind for loc in backup.locations] == [StorageKind.DRIVE]
    assert not context.config.local_backup_dir.exists() or not any(context.config.local_backup_dir.iterdir())

    drive_ref = backup.locations[0].ref
    assert hashlib.sha256(_drive_bytes(drive_fake, drive_ref)).hexdigest() == backup.sha256
    listed = RecordService(context).list().backups
    assert [b.id for b in listed] == [backup.id] and listed[0].is_on_drive and not listed[0].is_local

    _, chunks = DownloadService(context).open(backup.id, "ops@example.com")
    assert b"CREATE TABLE" in b"".join(decompress_stream(chunks))

    execute(database, ["DELETE FROM orders"])
    outcome = RestoreService(context, BackupService(context)).restore(backup.id, "ops@example.com")
    assert fingerprint(database) == original
    assert outcome.pre_restore_backup.is_on_drive

    RecordService(context).delete(backup.id, "ops@example.com")
    assert drive_ref not in drive_fake.files
    with pytest.raises(NotFoundError):
        context.catalog.get_backup(backup.id)


def test_property_3_google_drive_upload_on_success(cloud: CloudFactory, drive_fake: DriveFake) -> None:
    context = cloud("local,drive")
    SettingsService(context).update(
        {"google_drive_enabled": True, "google_drive_folder_id": context.config.drive.folder_id}, "ops"
    )
    context = cloud("local,drive")
    backup = BackupService(context).create("ops")
    local, drive = backup.location(StorageKind.LOCAL), backup.location(StorageKind.DRIVE)
    assert local is not None and drive is not None
    local_bytes = (context.config.local_backup_dir / local.ref).read_bytes()
    assert _drive_bytes(drive_fake, drive.ref) == local_bytes
    assert hashlib.sha256(local_bytes).hexdigest() == backup.sha256
    assert context.catalog.get_backup(backup.id).is_on_drive


def test_drive_disabled_in_settings_keeps_backups_local(cloud: CloudFactory) -> None:
    backup = BackupService(cloud("local,drive")).create("ops")
    assert [loc.kind for loc in backup.locations] == [StorageKind.LOCAL]


@pytest.mark.parametrize("failure", ["quota", "server errors"])
def test_property_15_drive_failure_graceful_degradation(
    cloud: CloudFactory, drive_fake: DriveFake, sendgrid: FakeSendGrid, failure: str
) -> None:
    context = cloud("local,drive")
    SettingsService(context).update(
        {
            "google_drive_enabled": True,
            "google_drive_folder_id": context.config.drive.folder_id,
            "notification_emails": ["oncall@example.com"],
        },
        "ops",
    )
    context = cloud("local,drive")
    if failure == "quota":
        drive_fake.failures.storage_quota_exceeded = True
    else:
        drive_fake.failures.chunk_statuses.update({n: 503 for n in range(1, 20)})
    backup = BackupService(context).create("ops")
    assert backup.status is BackupStatus.COMPLETED
    assert [loc.kind for loc in backup.locations] == [StorageKind.LOCAL]
    assert any("drive" in warning for warning in backup.warnings)
    assert context.catalog.get_backup(backup.id).warnings == backup.warnings
    assert not drive_fake.files_in(context.config.drive.folder_id or "")
    [mail] = sendgrid.mails
    assert mail.recipients == ["oncall@example.com"] and backup.id in mail.content("text/plain")


def test_property_4_drive_only_failure_fails_the_backup_and_mails(
    cloud: CloudFactory, drive_fake: DriveFake, sendgrid: FakeSendGrid
) -> None:
    context = cloud("drive")
    SettingsService(context).update({"notification_emails": ["oncall@example.com"]}, "ops")
    drive_fake.failures.storage_quota_exceeded = True
    with pytest.raises(StorageError):
        BackupService(context).create("ops")
    [record] = context.catalog.list_backups().backups
    assert record.status is BackupStatus.FAILED and record.error_message
    assert record.locations == []
    [mail] = sendgrid.mails
    assert record.id in mail.content("text/plain")
    assert sendgrid.api_key not in mail.content("text/plain")


def test_mail_that_cannot_be_sent_does_not_hide_the_failure(
    cloud: CloudFactory, drive_fake: DriveFake, sendgrid: FakeSendGrid
) -> None:
    context = cloud("drive")
    SettingsService(context).update({"notification_emails": ["oncall@example.com"]}, "ops")
    drive_fake.failures.storage_quota_exceeded = True
    sendgrid.fail_next(500, times=3)  # every attempt, retries included
    with pytest.raises(StorageError, match=r"quota|Shared Drive"):
        BackupService(context).create("ops")
    assert context.catalog.list_backups().backups[0].status is BackupStatus.FAILED


def test_drive_check_reports_reachable_folder_and_broken_credentials(
    cloud: CloudFactory, drive_fake: DriveFake
) -> None:
    assert check_drive(cloud("local")).to_dict()["configured"] is False
    good = check_drive(cloud("drive"))
    assert good.ok and good.enabled_for_new_backups
    drive_fake.failures.refresh_token_revoked = True
    revoked = check_drive(cloud("drive"))
    assert revoked.configured and not revoked.reachable
    assert "refresh token" in revoked.message and "drive-oauth" in revoked.message


def test_cleanup_keeps_the_record_when_the_drive_copy_cannot_be_deleted(
    cloud: CloudFactory, drive_fake: DriveFake
) -> None:
    context = cloud("drive")
    SettingsService(context).update(
        {"retention_daily": 1, "retention_weekly": 0, "retention_monthly": 0}, "ops"
    )
    older = BackupService(context).create("ops")
    newer = BackupService(context).create("ops")
    service = CleanupService(context.catalog, context.storages, context.auditor, context.clock)
    drive_fake.failures.rate_limited_requests = 1000
    result = service.run("ops", dry_run=False)
    assert result.deleted == [] and [f.backup_id for f in result.failures] == [older.id]
    kept = context.catalog.get_backup(older.id)
    assert kept.is_on_drive and kept.locations[0].ref in drive_fake.files
    drive_fake.failures.rate_limited_requests = 0
    retried = service.run("ops", dry_run=False)
    assert retried.deleted == [older.id] and not retried.failures
    assert older.locations[0].ref not in drive_fake.files
    assert [b.id for b in context.catalog.list_backups().backups] == [newer.id]
