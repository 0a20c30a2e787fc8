"""Hypothesis strategies for retention: histories around calendar edges, policies, and a `now`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from shared.models import Backup, BackupStatus, DatabaseInfo
from shared.retention import RetentionPolicy
from tests.retention.sample_backups import sample_backup

# Instants next to the edges that matter: year ends (2020 and 2026 have an ISO week 53, 2021 starts in
# week 53 of 2020), ISO-week and month boundaries, a leap day, and a DST change in a named zone.
ANCHORS = [
    datetime(2020, 12, 31, 23, 30, tzinfo=UTC),
    datetime(2021, 1, 3, 23, 59, tzinfo=UTC),
    datetime(2024, 2, 29, 0, 15, tzinfo=UTC),
    datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
    datetime(2025, 12, 28, 12, 0, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
]
ZONES: list[tzinfo] = [
    UTC,
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=-12)),
    timezone(timedelta(hours=5, minutes=45)),
    ZoneInfo("America/St_Johns"),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("Pacific/Kiritimati"),
]
STATUSES = [BackupStatus.COMPLETED] * 5 + [BackupStatus.FAILED, BackupStatus.PENDING, BackupStatus.RUNNING]


@st.composite
def histories(draw: st.DrawFn) -> list[Backup]:
    anchor = draw(st.sampled_from(ANCHORS))
    # Offsets from the anchor: minutes apart (many a day), hours, or weeks apart (gaps).
    offsets = draw(
        st.lists(
            st.one_of(
                st.integers(-180, 180).map(lambda m: timedelta(minutes=m)),
                st.integers(-72, 72).map(lambda h: timedelta(hours=h)),
                st.integers(-400, 400).map(lambda d: timedelta(days=d, minutes=d % 7)),
            ),
            max_size=40,
        )
    )
    ids = draw(st.permutations([f"b{n:03d}" for n in range(len(offsets))]))
    backups = []
    for backup_id, offset in zip(ids, offsets, strict=True):
        zone = draw(st.sampled_from(ZONES))
        backups.append(
            sample_backup(
                backup_id,
                (anchor + offset).astimezone(zone),
                draw(st.sampled_from(STATUSES)),
                is_protected=draw(st.booleans()),
            )
        )
    return backups


# Each count is often 0, so that every rule is also seen on its own, not hidden behind the daily one.
policies = st.builds(
    RetentionPolicy,
    daily=st.one_of(st.just(0), st.integers(1, 10)),
    weekly=st.one_of(st.just(0), st.integers(1, 6)),
    monthly=st.one_of(st.just(0), st.integers(1, 4)),
)


@st.composite
def nows(draw: st.DrawFn, backups: Sequence[Backup]) -> datetime:
    latest = max((b.created_at for b in backups), default=ANCHORS[0])
    # Mostly after every backup; sometimes earlier than a few, which then look like they are from the future.
    shifts = [timedelta(0), timedelta(hours=1), timedelta(days=30), timedelta(days=-2)]
    return latest + draw(st.sampled_from(shifts))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Backup], RetentionPolicy, datetime]:
    backups = draw(histories())
    return backups, draw(policies), draw(nows(backups))


# Distinct databases differ in engine, host or name alone; one database's host may be written in either
# case, and its server version changes with an upgrade.
DATABASES = [
    ("mysql", "db.internal", "shop"),
    ("postgresql", "db.internal", "shop"),
    ("mysql", "db.internal", "crm"),
    ("mysql", "replica.internal", "shop"),
]
HOST_SPELLINGS = [str.lower, str.upper]
SERVER_VERSIONS = ["", "10.11.6", "11.4.2"]


@st.composite
def histories_of_databases(draw: st.DrawFn) -> list[list[Backup]]:
    """One history per database for one to three of `DATABASES`, the ids unique across all of them."""
    chosen = draw(st.lists(st.sampled_from(DATABASES), min_size=1, max_size=3, unique=True))
    result = []
    for number, (engine, host, name) in enumerate(chosen):
        history = draw(histories())
        for backup in history:
            backup.id = f"d{number}-{backup.id}"
            spell = draw(st.sampled_from(HOST_SPELLINGS))
            backup.database = DatabaseInfo(engine, name, spell(host), draw(st.sampled_from(SERVER_VERSIONS)))
        result.append(history)
    return result
