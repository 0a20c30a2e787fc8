"""Downloading a backup: its file's bytes, verified against the recorded SHA-256 as they stream."""

from __future__ import annotations

from collections.abc import Iterator

from shared.models import AuditAction, Backup
from shared.services.context import ServiceContext
from shared.services.reading import open_backup


class DownloadService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def open(self, backup_id: str, actor: str) -> tuple[Backup, Iterator[bytes]]:
        """The backup and its bytes; the stream raises `ChecksumMismatchError` at the end if damaged."""
        backup = self._ctx.catalog.get_backup(backup_id)
        stream = open_backup(self._ctx, backup)
        self._ctx.auditor.record(actor, AuditAction.DOWNLOAD, backup.id, {"file_size": backup.file_size})
        return backup, stream
