"""Importing an existing dump file (`.sql`, `.sql.gz`, `.sql.zst`) into the catalog and storage."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from shared.compression import decompress_stream, detect_compression, make_compressor
from shared.engines.mysql import script
from shared.errors import InvalidInputError
from shared.models import (
    AuditAction,
    Backup,
    BackupSource,
    BackupStatus,
    Compression,
    DatabaseInfo,
    StorageLocation,
)
from shared.pipeline import ProgressCallback, begin_uploads, run_pipeline
from shared.services.backup_ids import backup_filename, new_backup_id
from shared.services.context import ServiceContext
from shared.services.degraded import report_degraded
from shared.services.dump_trailers import TrailerCheck
from shared.services.leftovers import discard_failed_uploads, discard_files
from shared.services.refusals import refusals_audited
from shared.services.stored_outcome import Stored, stored_outcome

_log = logging.getLogger(__name__)

_READ_CHUNK = 1 << 20
_HEAD_BYTES = 64 * 1024
_MYSQL_MARKERS = (b"-- MariaDB dump", b"-- MySQL dump", script.HEADER_PREFIX.encode())
_POSTGRES_MARKERS = (b"-- PostgreSQL database dump",)
_MYSQL_DATABASE = re.compile(rb"^-- Host: .*?Database: (\S+)", re.MULTILINE)
_OWN_MYSQL_DATABASE = re.compile(
    rb"^"
    + re.escape(script.HEADER_PREFIX.encode())
    + rb"`((?:[^`]|``)+)`"
    + re.escape(script.HEADER_SUFFIX.encode())
)


class ImportService:
    def __init__(self, context: ServiceContext) -> None:
        self._ctx = context

    def import_file(
        self,
        path: Path,
        actor: str,
        created_at: datetime | None = None,
        progress: ProgressCallback | None = None,
    ) -> Backup:
        """Register a dump made by this tool, `mariadb-dump`/`mysqldump` or `pg_dump` (plain SQL,
        optionally gzip- or zstd-compressed). The whole file is checked while it is stored: a file that
        is not such a dump, whose compressed data is damaged or cut short, or whose SQL does not end
        with its dump tool's "completed" trailer, is refused and nothing is kept. Audited either way: a
        refused or failed import with the error (and the backup id once its storing began)."""
        ctx = self._ctx
        about = {"file": path.name}
        with refusals_audited(ctx.auditor, actor, AuditAction.IMPORT, details=about):
            backup, compression = self._prepared(path, actor, created_at)
        with refusals_audited(ctx.auditor, actor, AuditAction.IMPORT, backup.id, about):
            self._store(path, backup, compression, progress)
        stored = {"engine": backup.database.engine, "sha256": backup.sha256, "warnings": backup.warnings}
        details = {**about, **stored}
        ctx.auditor.record(actor, AuditAction.IMPORT, backup.id, details)
        return backup

    def _prepared(
        self, path: Path, actor: str, created_at: datetime | None
    ) -> tuple[Backup, Compression]:
        """The record the file would get, running, and the file's compression; raises `InvalidInputError`
        for a file that is not a dump."""
        ctx = self._ctx
        head = _read_head(path)
        compression = detect_compression(head)
        sql_head = _decompressed_head(head, compression, path)
        engine, database = _identify(sql_head, path)
        configured = ctx.config.database_url
        if configured is not None and configured.engine == engine:
            database = database or configured.database
        created = created_at or ctx.clock.now()
        if created.tzinfo is None:
            raise InvalidInputError("--created-at needs a time zone, e.g. 2026-01-31T02:00:00+00:00")
        stored_as = compression if compression is not Compression.NONE else ctx.config.compression
        backup_id = new_backup_id()
        backup = Backup(
            id=backup_id,
            filename=backup_filename(database or "imported", created, backup_id, stored_as),
            database=DatabaseInfo(engine=engine, name=database or "unknown"),
            source=BackupSource.IMPORT,
            created_by=actor,
            created_at=created,
            compression=stored_as,
            status=BackupStatus.RUNNING,
        )
        return backup, compression

    def _store(
        self, path: Path, backup: Backup, compression: Compression, progress: ProgressCallback | None
    ) -> None:
        """Store the file, checking it, and record `backup` as completed; nothing is kept on failure."""
        ctx = self._ctx
        source = _checked_file_chunks(path, compression, TrailerCheck(backup.database.engine))
        as_is = compression is not Compression.NONE  # a compressed file is stored as it is
        compressor = make_compressor(Compression.NONE if as_is else backup.compression)
        uploads, refused = begin_uploads(ctx.write_targets, backup.filename)
        try:
            result = run_pipeline(source, compressor, uploads, progress)
            failed_uploads = {kind: ctx.storages[kind] for kind in result.failures}
            result.failures.update(refused)
            backup.file_size = result.stored_size
            backup.sha256 = result.sha256
            backup.locations = [StorageLocation(kind, ref) for kind, ref in result.refs.items()]
            backup.warnings = [f"storage {kind} failed: {reason}" for kind, reason in result.failures.items()]
            backup.status = BackupStatus.COMPLETED
            backup.completed_at = ctx.clock.now()
        except Exception:
            discard_files(ctx, backup, ctx.write_targets)  # a file no record names would be kept for ever
            raise
        try:
            ctx.catalog.add_backup(backup)
        except Exception:
            # A write that timed out (or was retried into "exists already") may have been applied.
            outcome = stored_outcome(ctx.catalog, backup)
            if outcome is Stored.NOT_COMPLETED:
                discard_files(ctx, backup, ctx.write_targets)
            if outcome is not Stored.COMPLETED:
                raise
            _log.warning("backup %s: the catalog reported a failure, but the record was stored", backup.id)
        discard_failed_uploads(ctx, backup, failed_uploads)
        report_degraded(ctx, backup, result.failures)


def _read_head(path: Path) -> bytes:
    if not path.is_file():
        raise InvalidInputError(f"{path} is not a file")
    try:
        with path.open("rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None


def _decompressed_head(head: bytes, compression: Compression, path: Path) -> bytes:
    if compression is Compression.NONE:
        return head
    out = bytearray()
    try:
        for chunk in decompress_stream([head], compression):
            out += chunk
            if len(out) >= _HEAD_BYTES:
                break
    except InvalidInputError as exc:
        if not out:
            raise InvalidInputError(f"{path} is not a readable {compression} file: {exc}") from None
    return bytes(out)


def _identify(sql_head: bytes, path: Path) -> tuple[str, str | None]:
    if any(marker in sql_head for marker in _POSTGRES_MARKERS):
        return "postgresql", None
    if any(marker in sql_head for marker in _MYSQL_MARKERS):
        if own := _OWN_MYSQL_DATABASE.search(sql_head):
            return "mysql", own.group(1).replace(b"``", b"`").decode("utf-8", "replace")
        match = _MYSQL_DATABASE.search(sql_head)
        return "mysql", match.group(1).decode("utf-8", "replace") if match else None
    raise InvalidInputError(
        f"{path} does not look like a dump made by this tool, mariadb-dump/mysqldump or pg_dump "
        "(no dump header in its first lines)"
    )


def _checked_file_chunks(path: Path, compression: Compression, trailer: TrailerCheck) -> Iterator[bytes]:
    """The file's bytes as they are; compressed data is also decoded on the side, so that a damaged
    or truncated file fails the import, and the SQL's end is checked for its dump tool's trailer, so
    that a dump cut short at a line's end (valid SQL up to the cut) fails it too."""
    raw = _file_chunks(path)
    if compression is Compression.NONE:
        for chunk in raw:
            trailer.feed(chunk)
            yield chunk
        trailer.verify(str(path))
        return
    passed: list[bytes] = []

    def tee() -> Iterator[bytes]:
        for chunk in raw:
            passed.append(chunk)
            yield chunk

    for sql in decompress_stream(tee(), compression):
        trailer.feed(sql)
        while passed:
            yield passed.pop(0)
    trailer.verify(str(path))
    while passed:
        yield passed.pop(0)


def _file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            yield chunk
