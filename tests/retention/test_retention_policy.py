"""Examples of `RetentionPolicy` and `plan_retention` at their edges: bad input, retention off, ties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.errors import InvalidInputError
from shared.models import BackupSettings, BackupSource, BackupStatus, DatabaseInfo
from shared.retention import RetentionPolicy, plan_retention
from tests.retention.sample_backups import sample_backup

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_policy_comes_from_the_settings() -> None:
    settings = BackupSettings(retention_daily=5, retention_weekly=3, retention_monthly=1)
    assert RetentionPolicy.from_settings(settings) == RetentionPolicy(daily=5, weekly=3, monthly=1)


@pytest.mark.parametrize("bad", [-1, True, 2.5, "7", None])
def test_policy_rejects_counts_that_are_not_whole_numbers_of_zero_or_more(bad: Any) -> None:
    with pytest.raises(InvalidInputError, match="retention_weekly must be a whole number"):
        RetentionPolicy(daily=1, weekly=bad, monthly=1)


def test_naive_created_at_is_refused_rather_than_guessed() -> None:
    backup = sample_backup("naive", datetime(2026, 3, 1, 12, 0))
    with pytest.raises(InvalidInputError, match="naive"):
        plan_retention([backup], RetentionPolicy(daily=1), NOW)


def test_duplicate_ids_are_refused() -> None:
    backups = [sample_backup("same", NOW - timedelta(days=1)), sample_backup("same", NOW - timedelta(days=2))]
    with pytest.raises(InvalidInputError, match="same"):
        plan_retention(backups, RetentionPolicy(daily=1), NOW)


def test_empty_history_plans_nothing() -> None:
    plan = plan_retention([], RetentionPolicy(7, 4, 6), NOW)
    assert (plan.keep, plan.delete, plan.ignored) == ([], [], [])


def test_retention_off_keeps_everything_and_explains_only_real_reasons() -> None:
    backups = [
        sample_backup("old", NOW - timedelta(days=90)),
        sample_backup("pinned", NOW - timedelta(days=60), is_protected=True),
        sample_backup("latest", NOW - timedelta(hours=1)),
    ]
    plan = plan_retention(backups, RetentionPolicy(0, 0, 0), NOW)
    assert plan.policy.is_off
    assert plan.delete == []
    assert [(k.backup.id, k.reasons) for k in plan.keep] == [
        ("latest", ["newest"]),
        ("pinned", ["protected"]),
        ("old", []),
    ]


def test_a_tie_on_created_at_is_broken_by_id_like_the_catalog_order() -> None:
    moment = NOW - timedelta(hours=3)
    backups = [sample_backup("b-1", moment), sample_backup("b-2", moment)]
    plan = plan_retention(backups, RetentionPolicy(daily=1), NOW)
    assert [(k.backup.id, k.reasons) for k in plan.keep] == [("b-2", ["daily", "newest"])]
    assert [b.id for b in plan.delete] == ["b-1"]


def test_only_failed_backups_plan_nothing_to_delete() -> None:
    backups = [sample_backup(f"f{n}", NOW - timedelta(days=n), BackupStatus.FAILED) for n in range(5)]
    plan = plan_retention(backups, RetentionPolicy(daily=1), NOW)
    assert plan.keep == [] and plan.delete == []
    assert [b.id for b in plan.ignored] == ["f0", "f1", "f2", "f3", "f4"]


def test_now_must_be_time_zone_aware() -> None:
    with pytest.raises(InvalidInputError, match="now"):
        plan_retention([], RetentionPolicy(daily=1), datetime(2026, 3, 10, 12, 0))


def test_each_database_keeps_its_own_newest_and_periods() -> None:
    shop = [sample_backup(f"shop-{n}", NOW - timedelta(days=n, hours=2)) for n in range(3)]
    crm = [sample_backup(f"crm-{n}", NOW - timedelta(days=n, hours=1)) for n in range(3)]
    for backup in crm:
        backup.database, backup.source = DatabaseInfo("postgresql", "crm"), BackupSource.IMPORT
    plan = plan_retention(shop + crm, RetentionPolicy(daily=2), NOW)
    assert [(k.backup.id, k.reasons) for k in plan.keep] == [
        ("crm-0", ["daily", "newest"]),
        ("shop-0", ["daily", "newest"]),
        ("crm-1", ["daily"]),
        ("shop-1", ["daily"]),
    ]
    assert [b.id for b in plan.delete] == ["crm-2", "shop-2"]


def test_a_new_server_version_or_host_spelling_is_still_the_same_database() -> None:
    before = sample_backup("before-upgrade", NOW - timedelta(hours=5))
    after = sample_backup("after-upgrade", NOW - timedelta(hours=1))
    before.database = DatabaseInfo("mysql", "shop", "DB.internal", server_version="10.11.6")
    after.database = DatabaseInfo("mysql", "shop", "db.internal", server_version="11.4.2")
    plan = plan_retention([before, after], RetentionPolicy(daily=1), NOW)
    assert [b.id for b in plan.delete] == ["before-upgrade"]


def test_a_running_restore_keeps_its_pre_restore_backup_and_the_backup_it_restores() -> None:
    restored = sample_backup("restored", NOW - timedelta(days=3), is_protected=True)
    pre = sample_backup("pre", NOW - timedelta(hours=2))
    pre.source, pre.restoring = BackupSource.PRE_RESTORE, "restored"
    backups = [sample_backup("newest", NOW - timedelta(hours=1)), pre, restored]
    plan = plan_retention(backups, RetentionPolicy(daily=1), NOW)
    assert [(k.backup.id, k.reasons) for k in plan.keep] == [
        ("newest", ["daily", "newest"]),
        ("pre", ["restoring"]),
        ("restored", ["protected", "restoring"]),
    ]
    assert plan.delete == []
