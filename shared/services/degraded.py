"""The mail for a backup that completed although one of its storages failed it (the others keep it)."""

from __future__ import annotations

from collections.abc import Mapping

from shared.models import Backup, StorageKind
from shared.notify.base import drive_upload_degraded
from shared.services.context import ServiceContext


def report_degraded(ctx: ServiceContext, backup: Backup, reasons: Mapping[StorageKind, str]) -> None:
    """One "upload degraded" mail per storage in `reasons` (storage → why it failed); the notifier never
    raises."""
    kept_at = ", ".join(str(location.kind) for location in backup.locations)
    completed_at = backup.completed_at or ctx.clock.now()
    for kind, reason in reasons.items():
        error = f"{kind}: {reason}"
        mail = drive_upload_degraded(backup.database, error, completed_at, backup.id, kept_at, kind)
        ctx.notifier.send(mail)
