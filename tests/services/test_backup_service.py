"""Creating backups: Properties 1 and 2, failures that leave no file, and one run per database."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.compression import decompress_stream
from shared.dburl import DatabaseURL
from shared.errors import BusyError, DumpError
from shared.models import AuditAction, BackupSource, BackupStatus, StorageKind
from shared.services.backups import BackupService, describe_error
from shared.services.context import ServiceContext
from shared.services.locking import lock_name
from tests.services.conftest import make_context


def _local_file(context: ServiceContext, ref: str) -> Path:
    return context.config.local_backup_dir / ref


@given(
    source=st.sampled_from([BackupSource.MANUAL, BackupSource.CLI, BackupSource.SCHEDULED]),
    protect=st.booleans(),
)
def test_property_2_backup_metadata_completeness(
    backups: BackupService, context: ServiceContext, db_url: DatabaseURL, source: BackupSource, protect: bool
) -> None:
    backup = backups.create("alice", source, protect=protect)
    stored = context.catalog.get_backup(backup.id)
    assert stored == backup
    assert stored.status is BackupStatus.COMPLETED
    assert stored.source is source and stored.is_protected is protect and stored.created_by == "alice"
    assert stored.filename.startswith(db_url.database) and stored.filename.endswith(".sql.gz")
    assert stored.completed_at is not None and stored.completed_at >= stored.created_at
    assert stored.database.engine == db_url.engine and stored.database.name == db_url.database
    table_rows = {name.split(".")[-1]: rows for name, rows in stored.table_rows.items()}
    assert table_rows == {"customers": 20, "orders": 60}
    location = stored.location(StorageKind.LOCAL)
    assert location is not None
    data = _local_file(context, location.ref).read_bytes()
    assert stored.file_size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.raw_size and stored.raw_size > stored.file_size
    assert stored.error_message is None
    assert any(log.action is AuditAction.CREATE for log in context.catalog.list_logs(backup.id))


def test_property_1_backup_creation_produces_valid_file(
    backups: BackupService, context: ServiceContext
) -> None:
    backup = backups.create("alice")
    location = backup.location(StorageKind.LOCAL)
    assert location is not None
    sql = b"".join(decompress_stream([_local_file(context, location.ref).read_bytes()]))
    assert b"CREATE TABLE" in sql and b"customers" in sql and b"order_totals" in sql


def test_failed_backup_is_recorded_and_leaves_no_file(tmp_path: Path, clock: object) -> None:
    missing = DatabaseURL(engine="mysql", database="no_such_database_xyz", user="root", host="127.0.0.1")
    context = make_context(tmp_path / "home", missing, clock)  # type: ignore[arg-type]
    with pytest.raises(DumpError):
        BackupService(context).create("bob")
    [record] = context.catalog.list_backups().backups
    assert record.status is BackupStatus.FAILED
    assert record.error_message and "no_such_database_xyz" in record.error_message
    assert record.locations == []
    assert [p.name for p in context.config.local_backup_dir.iterdir() if p.is_file()] == []


def test_second_run_on_the_same_database_is_busy(
    backups: BackupService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    now = context.clock.now()
    assert context.catalog.acquire_lock(lock_name(db_url), "other-run", now, timedelta(minutes=10))
    with pytest.raises(BusyError, match="another backup or restore"):
        backups.create("alice")
    assert context.catalog.list_backups().backups == []


def test_lock_left_by_a_crashed_run_expires(
    backups: BackupService, context: ServiceContext, db_url: DatabaseURL
) -> None:
    stale = context.clock.now() - timedelta(hours=2)
    assert context.catalog.acquire_lock(lock_name(db_url), "crashed-run", stale, timedelta(minutes=10))
    assert backups.create("alice").status is BackupStatus.COMPLETED


def test_recorded_errors_never_carry_a_password() -> None:
    leaked = RuntimeError("cannot connect to mysql://backup:Hunter2Secret@db.internal:3306/shop")
    recorded = describe_error(leaked)
    assert (
        "Hunter2Secret" not in recorded and "db.internal" in recorded and recorded.startswith("RuntimeError")
    )
