"""The retention policy as a pure function: which completed backups to keep (and why) and which to delete.

The meaning (issue 6):

- Each database has its own history: the rules below, "newest" included, apply to the backups of one
  database at a time (`database_key`: engine, host and database name), so an imported backup of another
  database neither counts in this one's periods nor pushes its backups out.
- Only completed backups are considered. Pending, running and failed ones are never deleted; they are
  listed in `RetentionPlan.ignored` so a caller can show them, and appear in neither `keep` nor `delete`.
- `daily = D`: for each of the D most recent UTC calendar days that have at least one completed backup,
  keep the newest completed backup of that day. `weekly` does the same for ISO weeks (so ISO week 1 of a
  year can start in the previous December and week 53 exists), `monthly` for calendar months. Periods are
  taken from `created_at` converted to UTC. Counting periods that *have* backups, not a calendar window,
  means a pause in backups never empties the policy.
- Protected backups are always kept ("protected"), and so is the newest completed backup ("newest").
- While a restore runs (or until the next run on its database finds it interrupted), its pre-restore
  backup (`Backup.restoring` set) and the backup it names are kept ("restoring"), whatever their database.
- A backup kept by several rules lists every one of them, in the order daily, weekly, monthly, protected,
  restoring, newest.
- All three counts at 0 means retention is off: nothing is deleted. Backups kept only because retention is
  off have an empty reasons list (`RetentionPolicy.is_off` tells a caller to say so).
- "Newest" means newest by (`created_at`, `id`), the catalog's order, so ties on `created_at` are broken
  the same way everywhere.
- Backups dated after `now` (a skewed clock) are kept as "newest" and are not counted in any period, so a
  bogus future date can neither be deleted nor push a real backup out of its period. The newest backup at
  or before `now` is then kept as "newest" too.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.errors import InvalidInputError
from shared.models import Backup, BackupSettings, BackupStatus, DatabaseInfo

_COUNTS = ("daily", "weekly", "monthly")
REASON_DAILY = "daily"
REASON_WEEKLY = "weekly"
REASON_MONTHLY = "monthly"
REASON_PROTECTED = "protected"
REASON_RESTORING = "restoring"
REASON_NEWEST = "newest"
REASON_ORDER = (
    REASON_DAILY,
    REASON_WEEKLY,
    REASON_MONTHLY,
    REASON_PROTECTED,
    REASON_RESTORING,
    REASON_NEWEST,
)


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days, ISO weeks and calendar months (each with at least one completed backup) to keep."""

    daily: int = 0
    weekly: int = 0
    monthly: int = 0

    def __post_init__(self) -> None:
        for name in _COUNTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInputError(
                    f"retention_{name} must be a whole number of 0 or more, got {value!r}; "
                    f"set it with `settings --set retention_{name}=7` (0 turns that rule off)"
                )

    @classmethod
    def from_settings(cls, settings: BackupSettings) -> RetentionPolicy:
        return cls(
            daily=settings.retention_daily,
            weekly=settings.retention_weekly,
            monthly=settings.retention_monthly,
        )

    @property
    def is_off(self) -> bool:
        """True when all three counts are 0: retention deletes nothing."""
        return self.daily == 0 and self.weekly == 0 and self.monthly == 0

    def tightened_from(self, before: RetentionPolicy) -> str | None:
        """What in the change from `before` to this policy makes the next cleanup delete backups `before`
        keeps ("lowering retention_daily", "turning retention on"), or None when it keeps them all: each
        rule keeps its own backups, so a higher count or another rule only keeps more."""
        if self.is_off:
            return None
        if before.is_off:
            return "turning retention on"
        lowered = [f"retention_{name}" for name in _COUNTS if getattr(self, name) < getattr(before, name)]
        return f"lowering {' and '.join(lowered)}" if lowered else None


@dataclass(frozen=True)
class KeptBackup:
    backup: Backup
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RetentionPlan:
    """What `plan_retention` decided. Every list is newest first (created_at, then id, descending)."""

    policy: RetentionPolicy
    keep: list[KeptBackup]
    delete: list[Backup]
    ignored: list[Backup]
    """Backups that are not completed: never considered, never deleted."""


PeriodKey = Callable[[datetime], Hashable]


def _utc_day(moment: datetime) -> Hashable:
    return moment.date()


def _iso_week(moment: datetime) -> Hashable:
    iso = moment.isocalendar()
    return (iso.year, iso.week)


def _month(moment: datetime) -> Hashable:
    return (moment.year, moment.month)


_RULES: tuple[tuple[str, str, PeriodKey], ...] = (
    (REASON_DAILY, "daily", _utc_day),
    (REASON_WEEKLY, "weekly", _iso_week),
    (REASON_MONTHLY, "monthly", _month),
)


def _as_utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInputError(
            f"{what} is a naive datetime ({moment.isoformat()}); retention needs time-zone-aware times "
            "so that days, weeks and months can be taken in UTC"
        )
    return moment.astimezone(UTC)


def _newest_first_key(backup: Backup) -> tuple[datetime, str]:
    return (_as_utc(backup.created_at, f"created_at of backup {backup.id}"), backup.id)


def _newest_per_period(backups: Sequence[Backup], period_of: PeriodKey, count: int) -> set[str]:
    """Ids of the newest backup in each of the `count` most recent periods that hold a backup."""
    if count == 0:
        return set()
    newest_in_period: dict[Hashable, Backup] = {}
    for backup in backups:
        period = period_of(_as_utc(backup.created_at, f"created_at of backup {backup.id}"))
        current = newest_in_period.get(period)
        if current is None or _newest_first_key(backup) > _newest_first_key(current):
            newest_in_period[period] = backup
    by_recency = sorted(newest_in_period.values(), key=_newest_first_key, reverse=True)
    return {backup.id for backup in by_recency[:count]}


DatabaseKey = tuple[str, str, str]


def database_key(database: DatabaseInfo) -> DatabaseKey:
    """Which database's history a backup is part of: engine, host and name. Not the server version, which
    an upgrade of the same database changes; engine and host compared case-insensitively, as host names
    are, while database names can differ by case alone."""
    return (database.engine.casefold(), database.host.casefold(), database.name)


def used_by_restores(backups: Sequence[Backup]) -> set[str]:
    """Ids of the pre-restore backups of running restores and of the backups those restores restore."""
    used: set[str] = set()
    for backup in backups:
        if backup.restoring is not None:
            used.update((backup.id, backup.restoring))
    return used


def _refuse_duplicate_ids(backups: Sequence[Backup]) -> None:
    ids = [b.id for b in backups]
    if len(set(ids)) != len(ids):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise InvalidInputError(f"backup ids must be unique, these repeat: {', '.join(duplicates)}")


def _histories(newest_first: Sequence[Backup]) -> list[list[Backup]]:
    """The backups split by database, each list still newest first."""
    by_database: dict[DatabaseKey, list[Backup]] = {}
    for backup in newest_first:
        by_database.setdefault(database_key(backup.database), []).append(backup)
    return list(by_database.values())


def _reasons_in_history(
    history: Sequence[Backup], policy: RetentionPolicy, now_utc: datetime, in_use: set[str]
) -> dict[str, list[str]]:
    """Why each completed backup of one database (newest first) is kept; an empty list: it is not."""
    future = [b for b in history if _as_utc(b.created_at, "created_at") > now_utc]
    counted = [b for b in history if _as_utc(b.created_at, "created_at") <= now_utc]

    reasons: dict[str, list[str]] = {b.id: [] for b in history}
    for reason, attribute, period_of in _RULES:
        for backup_id in _newest_per_period(counted, period_of, getattr(policy, attribute)):
            reasons[backup_id].append(reason)
    for backup in history:
        if backup.is_protected:
            reasons[backup.id].append(REASON_PROTECTED)
        if backup.id in in_use:
            reasons[backup.id].append(REASON_RESTORING)
    for backup in future + counted[:1]:
        reasons[backup.id].append(REASON_NEWEST)
    return reasons


def plan_retention(backups: Sequence[Backup], policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    """Decide which completed backups the policy keeps (with every reason) and which it deletes."""
    now_utc = _as_utc(now, "now")
    _refuse_duplicate_ids(backups)
    ordered = sorted(backups, key=_newest_first_key, reverse=True)
    completed = [b for b in ordered if b.status == BackupStatus.COMPLETED]
    ignored = [b for b in ordered if b.status != BackupStatus.COMPLETED]

    in_use = used_by_restores(backups)
    reasons: dict[str, list[str]] = {}
    for history in _histories(completed):
        reasons.update(_reasons_in_history(history, policy, now_utc, in_use))

    keep = [KeptBackup(b, reasons[b.id]) for b in completed if reasons[b.id] or policy.is_off]
    delete = [b for b in completed if not reasons[b.id] and not policy.is_off]
    return RetentionPlan(policy=policy, keep=keep, delete=delete, ignored=ignored)
