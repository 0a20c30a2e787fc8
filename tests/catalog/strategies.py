"""Hypothesis strategies and builders for catalog records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from shared.models import (
    Backup,
    BackupSource,
    BackupStatus,
    Compression,
    DatabaseInfo,
    StorageKind,
    StorageLocation,
)

BASE_TIME = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

_plain_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789_.- ", min_size=1, max_size=20)
_ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=24)
_zones = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
created_times = st.one_of(
    st.sampled_from([BASE_TIME, BASE_TIME + timedelta(seconds=1), BASE_TIME - timedelta(days=3)]),
    st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=_zones),
)


RUN_LOCKS = ("db-shop", "db-crm")
"""Few, so that filters on a run's lock match some records."""


def make_backup(backup_id: str, created_at: datetime = BASE_TIME, **changes: object) -> Backup:
    backup = Backup(
        id=backup_id,
        filename=f"{backup_id}.sql.gz",
        database=DatabaseInfo(engine="mysql", name="shop", host="127.0.0.1", server_version="10.11"),
        source=BackupSource.MANUAL,
        created_by="ops@example.com",
        created_at=created_at,
    )
    for name, value in changes.items():
        setattr(backup, name, value)
    return backup


@st.composite
def backups(draw: st.DrawFn, backup_id: str | None = None) -> Backup:
    completed = draw(st.none() | st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=_zones))
    return Backup(
        id=backup_id if backup_id is not None else draw(_ids),
        filename=draw(_names),
        database=DatabaseInfo(
            engine=draw(st.sampled_from(["mysql", "postgresql"])),
            name=draw(_names),
            host=draw(_plain_text),
            server_version=draw(_plain_text),
        ),
        source=draw(st.sampled_from(BackupSource)),
        created_by=draw(_plain_text),
        created_at=draw(created_times),
        status=draw(st.sampled_from(BackupStatus)),
        compression=draw(st.sampled_from(Compression)),
        file_size=draw(st.none() | st.integers(0, 2**53)),
        sha256=draw(st.none() | st.text("0123456789abcdef", min_size=64, max_size=64)),
        raw_size=draw(st.none() | st.integers(0, 2**53)),
        is_protected=draw(st.booleans()),
        completed_at=completed,
        error_message=draw(st.none() | _plain_text),
        locations=draw(
            st.lists(st.builds(StorageLocation, st.sampled_from(StorageKind), _names), max_size=2)
        ),
        table_rows=draw(st.dictionaries(_names, st.integers(0, 2**40), max_size=4)),
        warnings=draw(st.lists(_plain_text, max_size=3)),
        run_lock=draw(st.none() | st.sampled_from(RUN_LOCKS)),
        restoring=draw(st.none() | _ids),
    )


@st.composite
def backup_sets(draw: st.DrawFn, max_size: int = 25) -> list[Backup]:
    ids = draw(st.lists(_ids, min_size=0, max_size=max_size, unique=True))
    return [draw(backups(backup_id=backup_id)) for backup_id in ids]
