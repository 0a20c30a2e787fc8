"""Download (Property 8), delete (Property 9), protect, list and import, on the embedded default."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.catalog.base import BackupFilter
from shared.clock import FixedClock
from shared.compression import decompress_stream
from shared.dburl import DatabaseURL
from shared.errors import ChecksumMismatchError, InvalidInputError, NotFoundError
from shared.models import AuditAction, BackupSource, BackupStatus, StorageKind
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.download import DownloadService
from shared.services.importer import ImportService
from shared.services.records import RecordService
from shared.services.restore import RestoreService
from tests.sample_data import execute, fingerprint
from tests.services.conftest import make_context


def test_property_8_download_returns_valid_file(backups: BackupService, context: ServiceContext) -> None:
    backup = backups.create("alice")
    _, chunks = DownloadService(context).open(backup.id, "carol")
    data = b"".join(chunks)
    assert hashlib.sha256(data).hexdigest() == backup.sha256 and len(data) == backup.file_size
    assert b"CREATE TABLE" in b"".join(decompress_stream([data]))
    downloads = [log for log in context.catalog.list_logs(backup.id) if log.action is AuditAction.DOWNLOAD]
    assert [(log.actor, log.details["outcome"]) for log in downloads] == [
        ("carol", "completed"),
        ("carol", "started"),
    ]


def test_download_of_a_damaged_file_fails_at_the_end(backups: BackupService, context: ServiceContext) -> None:
    backup = backups.create("alice")
    location = backup.location(StorageKind.LOCAL)
    assert location is not None
    path = context.config.local_backup_dir / location.ref
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    _, chunks = DownloadService(context).open(backup.id, "carol")
    received = bytearray()
    with pytest.raises(ChecksumMismatchError, match="damaged"):
        for chunk in chunks:
            received += chunk
    assert len(received) < len(data)  # the last chunk, which would make it whole, is held back


def test_property_9_deletion_removes_from_all_locations(
    backups: BackupService, context: ServiceContext
) -> None:
    kept = backups.create("alice")
    gone = backups.create("alice")
    location = gone.location(StorageKind.LOCAL)
    assert location is not None
    RecordService(context).delete(gone.id, "dave")
    assert not (context.config.local_backup_dir / location.ref).exists()
    with pytest.raises(NotFoundError):
        context.catalog.get_backup(gone.id)
    assert [b.id for b in context.catalog.list_backups().backups] == [kept.id]
    assert any(
        log.action is AuditAction.DELETE and log.actor == "dave" for log in context.catalog.list_logs(gone.id)
    )


def test_deleting_a_backup_whose_file_is_already_gone(
    backups: BackupService, context: ServiceContext
) -> None:
    backup = backups.create("alice")
    location = backup.location(StorageKind.LOCAL)
    assert location is not None
    (context.config.local_backup_dir / location.ref).unlink()
    RecordService(context).delete(backup.id, "dave")
    with pytest.raises(NotFoundError):
        context.catalog.get_backup(backup.id)


def test_protect_and_unprotect_are_recorded(backups: BackupService, context: ServiceContext) -> None:
    backup = backups.create("alice")
    records = RecordService(context)
    assert records.set_protected(backup.id, True, "erin").is_protected
    assert records.list(BackupFilter(is_protected=True)).backups[0].id == backup.id
    assert not records.set_protected(backup.id, False, "erin").is_protected
    actions = {log.action for log in context.catalog.list_logs(backup.id)}
    assert {AuditAction.PROTECT, AuditAction.UNPROTECT} <= actions


def test_unknown_id_is_not_found(context: ServiceContext) -> None:
    with pytest.raises(NotFoundError):
        RecordService(context).show("0123456789abcdef")
    with pytest.raises(NotFoundError):
        RecordService(context).delete("0123456789abcdef", "x")


def _stock_dump(url: DatabaseURL, path: Path) -> None:
    if url.engine == "mysql":
        command = [
            "mariadb-dump",
            "-uroot",
            "-h",
            url.host,
            "-P",
            str(url.port),
            "--single-transaction",
            "--routines",
            "--triggers",
            url.database,
        ]
    else:
        command = ["pg_dump", "-h", url.host, "-p", str(url.port), "-U", url.user, "--no-owner", url.database]
    dump = subprocess.run(command, check=True, capture_output=True).stdout
    path.write_bytes(gzip.compress(dump))


def test_import_of_a_stock_dump_then_restore(
    context: ServiceContext, restores: RestoreService, db_url: DatabaseURL, tmp_path: Path
) -> None:
    original = fingerprint(db_url)
    dump = tmp_path / "stock.sql.gz"
    _stock_dump(db_url, dump)
    when = datetime(2025, 1, 31, 2, 0, tzinfo=UTC)
    imported = ImportService(context).import_file(dump, "frank", created_at=when)
    assert imported.source is BackupSource.IMPORT and imported.status is BackupStatus.COMPLETED
    assert imported.created_at == when and imported.database.engine == db_url.engine
    assert imported.sha256 == hashlib.sha256(dump.read_bytes()).hexdigest()
    execute(db_url, ["DELETE FROM orders"])
    restores.restore(imported.id, "frank")
    assert fingerprint(db_url) == original


def test_import_of_a_file_this_tool_made_into_another_home(
    backups: BackupService, context: ServiceContext, db_url: DatabaseURL, tmp_path: Path, clock: FixedClock
) -> None:
    """A backup file copied from one installation (or downloaded) registers in another and restores."""
    original = fingerprint(db_url)
    made = backups.create("alice")
    location = made.location(StorageKind.LOCAL)
    assert location is not None
    copied = tmp_path / "copied.sql.gz"
    shutil.copy(context.config.local_backup_dir / location.ref, copied)
    elsewhere = make_context(tmp_path / "elsewhere", db_url, clock)
    imported = ImportService(elsewhere).import_file(copied, "frank")
    assert imported.database.engine == db_url.engine
    if db_url.engine == "mysql":
        assert imported.database.name == db_url.database
    execute(db_url, ["DELETE FROM orders"])
    RestoreService(elsewhere, BackupService(elsewhere)).restore(imported.id, "frank")
    assert fingerprint(db_url) == original


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just some text, not a dump\n", "does not look like a dump"),
        (b"\x1f\x8b\x08\x00garbage-garbage-garbage", "not a readable gzip"),
        (gzip.compress(b"-- MariaDB dump 10.19\nCREATE TABLE t (a int);\n" * 5000)[:-40], "ends early"),
    ],
)
def test_import_refuses_what_is_not_a_complete_dump(
    context: ServiceContext, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "candidate.sql.gz"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=message):
        ImportService(context).import_file(path, "frank")
    assert context.catalog.list_backups().backups == []
    folder = context.config.local_backup_dir
    leftovers = list(folder.iterdir()) if folder.exists() else []
    assert leftovers == []


def test_import_of_a_missing_file(context: ServiceContext, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is not a file"):
        ImportService(context).import_file(tmp_path / "nope.sql.gz", "frank")


def test_an_import_the_catalog_refuses_to_record_leaves_no_file(tmp_path: Path, clock: FixedClock) -> None:
    """The file is stored before its record is added: when adding the record fails, the stored copy goes
    too, or it would be a file that no record names, kept for ever."""
    context = make_context(tmp_path / "home", None, clock)
    context.catalog.list_backups()  # the catalog's tables exist
    with sqlite3.connect(context.config.catalog_path) as refusing:
        refusing.executescript(
            "CREATE TABLE spare (a int); CREATE TRIGGER no_new_backups BEFORE INSERT ON backups "
            "BEGIN INSERT INTO spare VALUES (1); END; DROP TABLE spare"
        )
    dump = tmp_path / "stock.sql"
    dump.write_bytes(b"-- MariaDB dump 10.19\nCREATE TABLE t (a int);\n-- Dump completed\n")
    with pytest.raises(Exception, match="no such table"):  # the catalog broke after it was opened
        ImportService(context).import_file(dump, "frank")
    assert list(context.config.local_backup_dir.iterdir()) == []
    [failed] = [log for log in context.catalog.list_logs() if log.action is AuditAction.IMPORT]
    assert failed.details["outcome"] == "failed" and "no such table" in failed.details["error"]
