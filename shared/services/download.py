"""Downloading a backup: its file's bytes, verified against the recorded SHA-256 as they stream.

The audit says what happened to the stream, as a restore's does: `started` once the first bytes were read,
then `completed` once the whole file was read and verified, or `failed` with the error (alone when nothing
could be read, e.g. a damaged file of one chunk). A reader that stops early leaves `started` alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shared.models import AuditAction, Backup
from shared.services.backups import describe_error
from shared.services.context import ServiceContext
from shared.services.reading import open_backup, require_completed


class DownloadService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def open(self, backup_id: str, actor: str) -> tuple[Backup, Iterator[bytes]]:
        """The backup and its bytes; the stream raises `ChecksumMismatchError` at the end if damaged."""
        backup = self._ctx.catalog.get_backup(backup_id)
        require_completed(backup)
        try:
            stream = open_backup(self._ctx, backup)
        except Exception as exc:
            self._failed(actor, backup, exc, 0)
            raise
        return backup, self._audited(actor, backup, stream)

    def _audited(self, actor: str, backup: Backup, chunks: Iterator[bytes]) -> Iterator[bytes]:
        sent = 0
        try:
            first = next(chunks, None)
        except (Exception, KeyboardInterrupt) as exc:
            self._failed(actor, backup, exc, sent)
            raise
        self._record(actor, backup, {"outcome": "started", "file_size": backup.file_size})
        try:
            if first is not None:
                yield first
                sent += len(first)
            for chunk in chunks:
                yield chunk
                sent += len(chunk)
        except (Exception, KeyboardInterrupt) as exc:
            self._failed(actor, backup, exc, sent)
            raise
        self._record(actor, backup, {"outcome": "completed", "bytes_sent": sent})

    def _failed(self, actor: str, backup: Backup, exc: BaseException, sent: int) -> None:
        details = {"outcome": "failed", "error": describe_error(exc), "bytes_sent": sent}
        self._record(actor, backup, details, severity="ERROR")

    def _record(self, actor: str, backup: Backup, details: dict[str, Any], severity: str = "NOTICE") -> None:
        self._ctx.auditor.record(actor, AuditAction.DOWNLOAD, backup.id, details, severity=severity)
