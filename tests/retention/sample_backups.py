"""Backup records for retention tests: only the fields retention reads are set with care."""

from __future__ import annotations

from datetime import datetime

from shared.models import Backup, BackupSource, BackupStatus, DatabaseInfo, StorageLocation


def sample_backup(
    backup_id: str,
    created_at: datetime,
    status: BackupStatus = BackupStatus.COMPLETED,
    *,
    is_protected: bool = False,
    locations: list[StorageLocation] | None = None,
) -> Backup:
    return Backup(
        id=backup_id,
        filename=f"{backup_id}.sql.gz",
        database=DatabaseInfo(engine="mysql", name="shop"),
        source=BackupSource.SCHEDULED,
        created_by="scheduler",
        created_at=created_at,
        status=status,
        is_protected=is_protected,
        completed_at=created_at if status == BackupStatus.COMPLETED else None,
        locations=list(locations or []),
    )
