"""Is Google Drive configured, reachable and writable? (the `drive-test` command and the settings API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import BackupServiceError
from shared.models import StorageKind
from shared.redaction import redact
from shared.services.context import ServiceContext


@dataclass(frozen=True)
class DriveCheck:
    configured: bool
    reachable: bool
    enabled_for_new_backups: bool
    message: str

    @property
    def ok(self) -> bool:
        return self.configured and self.reachable

    def to_dict(self) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "reachable": self.reachable,
            "enabled_for_new_backups": self.enabled_for_new_backups,
            "message": self.message,
        }


def check_drive(context: ServiceContext) -> DriveCheck:
    storage = context.storages.get(StorageKind.DRIVE)
    enabled = StorageKind.DRIVE in context.write_targets
    if storage is None:
        return DriveCheck(
            False, False, False, "Google Drive is not configured: set BACKUP_STORAGE=drive or local,drive"
        )
    try:
        storage.test_connection()
    except Exception as exc:
        reason = str(exc) if isinstance(exc, BackupServiceError) else f"{type(exc).__name__}: {exc}"
        return DriveCheck(
            True, False, enabled, "Google Drive is configured but not usable: " + redact(reason)[:500]
        )
    note = "" if enabled else " (not used for new backups: enable google_drive_enabled in the settings)"
    return DriveCheck(True, True, enabled, "Google Drive folder is reachable and writable" + note)
