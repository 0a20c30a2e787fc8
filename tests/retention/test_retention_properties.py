"""Properties 13 and 14 and the safety invariants of `plan_retention`, on random histories."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from shared.models import Backup, BackupStatus
from shared.retention import RetentionPlan, RetentionPolicy, plan_retention
from tests.retention.strategies import ANCHORS, histories, histories_of_databases, nows, policies, scenarios


def reference_reasons(
    backups: Sequence[Backup], policy: RetentionPolicy, now: datetime
) -> dict[str, list[str]]:
    """A second, deliberately plain reading of issue 6: walk the completed backups newest first and, per
    rule, keep each one that opens a period not seen yet, until the rule has its count of periods."""
    completed = [b for b in backups if b.status == BackupStatus.COMPLETED]
    completed.sort(key=lambda b: (b.created_at.astimezone(UTC), b.id), reverse=True)
    reasons: dict[str, list[str]] = {b.id: [] for b in completed}

    def day(b: Backup) -> Hashable:
        return b.created_at.astimezone(UTC).date()

    def week(b: Backup) -> Hashable:
        return b.created_at.astimezone(UTC).isocalendar()[:2]

    def month(b: Backup) -> Hashable:
        utc = b.created_at.astimezone(UTC)
        return (utc.year, utc.month)

    in_past = [b for b in completed if b.created_at <= now]
    for name, count, period in (
        ("daily", policy.daily, day),
        ("weekly", policy.weekly, week),
        ("monthly", policy.monthly, month),
    ):
        seen: set[Hashable] = set()
        for backup in in_past:
            if len(seen) < count and period(backup) not in seen:
                seen.add(period(backup))
                reasons[backup.id].append(name)
    for backup in completed:
        if backup.is_protected:
            reasons[backup.id].append("protected")
    for backup in completed:
        if backup.created_at > now or backup is (in_past[0] if in_past else None):
            reasons[backup.id].append("newest")
    return reasons


def kept_reasons(plan: RetentionPlan) -> dict[str, list[str]]:
    return {kept.backup.id: kept.reasons for kept in plan.keep}


@given(scenarios())
def test_property_13_retention_policy_correctness(
    scenario: tuple[list[Backup], RetentionPolicy, datetime],
) -> None:
    backups, policy, now = scenario
    plan = plan_retention(backups, policy, now)
    expected = reference_reasons(backups, policy, now)

    if policy.is_off:
        assert plan.delete == []
        assert kept_reasons(plan) == expected
    else:
        assert kept_reasons(plan) == {i: r for i, r in expected.items() if r}
        assert {b.id for b in plan.delete} == {i for i, r in expected.items() if not r}
    assert {b.id for b in plan.ignored} == {b.id for b in backups if b.status != BackupStatus.COMPLETED}


@given(scenarios())
def test_property_14_protected_backup_exclusion(
    scenario: tuple[list[Backup], RetentionPolicy, datetime],
) -> None:
    backups, policy, now = scenario
    plan = plan_retention(backups, policy, now)
    deleted_ids = {b.id for b in plan.delete}
    for backup in backups:
        if backup.is_protected:
            assert backup.id not in deleted_ids
            if backup.status == BackupStatus.COMPLETED:
                assert "protected" in kept_reasons(plan)[backup.id]


@given(scenarios())
def test_keep_and_delete_partition_the_completed_backups(
    scenario: tuple[list[Backup], RetentionPolicy, datetime],
) -> None:
    backups, policy, now = scenario
    plan = plan_retention(backups, policy, now)
    kept_ids = [k.backup.id for k in plan.keep]
    deleted_ids = [b.id for b in plan.delete]
    completed_ids = {b.id for b in backups if b.status == BackupStatus.COMPLETED}
    assert len(set(kept_ids)) == len(kept_ids)
    assert set(kept_ids).isdisjoint(deleted_ids)
    assert set(kept_ids) | set(deleted_ids) == completed_ids
    assert len(kept_ids) + len(deleted_ids) == len(completed_ids)
    # Non-completed backups are never deleted, and appear only as ignored.
    assert {b.id for b in plan.ignored}.isdisjoint(set(kept_ids) | set(deleted_ids))


@given(scenarios())
def test_newest_completed_backup_is_always_kept(
    scenario: tuple[list[Backup], RetentionPolicy, datetime],
) -> None:
    backups, policy, now = scenario
    completed = [b for b in backups if b.status == BackupStatus.COMPLETED]
    plan = plan_retention(backups, policy, now)
    if completed:
        newest = max(completed, key=lambda b: (b.created_at, b.id))
        assert "newest" in kept_reasons(plan)[newest.id]


@given(histories(), st.sampled_from([timedelta(0), timedelta(days=-3), timedelta(days=900)]))
def test_all_zero_policy_deletes_nothing(backups: list[Backup], shift: timedelta) -> None:
    now = max((b.created_at for b in backups), default=ANCHORS[0]) + shift
    plan = plan_retention(backups, RetentionPolicy(0, 0, 0), now)
    assert plan.delete == []
    assert len(plan.keep) == sum(b.status == BackupStatus.COMPLETED for b in backups)


@given(scenarios(), policies)
def test_a_larger_policy_keeps_everything_a_smaller_one_keeps(
    scenario: tuple[list[Backup], RetentionPolicy, datetime], other: RetentionPolicy
) -> None:
    backups, policy, now = scenario
    larger = RetentionPolicy(
        max(policy.daily, other.daily), max(policy.weekly, other.weekly), max(policy.monthly, other.monthly)
    )
    assume(not policy.is_off)
    kept_by_smaller = set(kept_reasons(plan_retention(backups, policy, now)))
    assert kept_by_smaller <= set(kept_reasons(plan_retention(backups, larger, now)))


def plan_as_sets(plan: RetentionPlan) -> tuple[dict[str, list[str]], set[str], set[str]]:
    return kept_reasons(plan), {b.id for b in plan.delete}, {b.id for b in plan.ignored}


@given(histories_of_databases(), policies, st.data())
def test_retention_over_several_databases_is_retention_of_each_database_alone(
    databases: list[list[Backup]], policy: RetentionPolicy, data: st.DataObject
) -> None:
    everything = [backup for history in databases for backup in history]
    now = data.draw(nows(everything))
    together = plan_as_sets(plan_retention(everything, policy, now))

    kept: dict[str, list[str]] = {}
    deleted: set[str] = set()
    ignored: set[str] = set()
    for history in databases:
        alone_kept, alone_deleted, alone_ignored = plan_as_sets(plan_retention(history, policy, now))
        kept.update(alone_kept)
        deleted |= alone_deleted
        ignored |= alone_ignored
    assert together == (kept, deleted, ignored)


@given(histories(), policies, policies, st.data())
def test_a_change_that_is_not_a_tightening_deletes_nothing_more(
    backups: list[Backup], before: RetentionPolicy, after: RetentionPolicy, data: st.DataObject
) -> None:
    """`tightened_from` decides whether a settings change also takes the delete permission: when it says
    None, the new policy keeps every backup the old one keeps; when it names a change, it is one that can
    delete (some history loses a backup the old policy kept)."""
    now = data.draw(nows(backups))
    kept_before = {kept.backup.id for kept in plan_retention(backups, before, now).keep}
    kept_after = {kept.backup.id for kept in plan_retention(backups, after, now).keep}
    tightening = after.tightened_from(before)
    if tightening is None:
        assert kept_before <= kept_after
    else:
        assert tightening == "turning retention on" if before.is_off else tightening.startswith("lowering ")
