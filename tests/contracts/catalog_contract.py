"""The one test suite every `Catalog` implementation must pass (subclass it and provide `catalog_factory`)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.catalog.base import BackupFilter, Catalog, RunClaimState
from shared.clock import FixedClock
from shared.errors import InvalidInputError, NotFoundError, RecordChangedError
from shared.models import (
    AuditAction,
    Backup,
    BackupLog,
    BackupSettings,
    BackupSource,
    BackupStatus,
    ScheduleFrequency,
    StorageKind,
    StorageLocation,
)
from tests.catalog.strategies import BASE_TIME, RUN_LOCKS, backup_sets, backups, make_backup

CatalogFactory = Callable[[], Catalog]
HOUR = timedelta(hours=1)


def newest_first(items: list[Backup]) -> list[Backup]:
    return sorted(items, key=lambda backup: (backup.created_at, backup.id), reverse=True)


def matches(backup: Backup, chosen: BackupFilter) -> bool:
    return (
        (chosen.status is None or backup.status == chosen.status)
        and (chosen.source is None or backup.source == chosen.source)
        and (chosen.is_protected is None or backup.is_protected == chosen.is_protected)
        and (chosen.run_lock is None or backup.run_lock == chosen.run_lock)
    )


def all_pages(catalog: Catalog, chosen: BackupFilter | None, limit: int) -> list[list[Backup]]:
    pages: list[list[Backup]] = []
    cursor: str | None = None
    while True:
        page = catalog.list_backups(chosen, limit=limit, cursor=cursor)
        pages.append(page.backups)
        assert len(page.backups) <= limit
        if page.next_cursor is None:
            return pages
        assert len(page.backups) == limit
        cursor = page.next_cursor
        assert len(pages) < 500, "paging does not advance"


filters = st.builds(
    BackupFilter,
    status=st.none() | st.sampled_from(BackupStatus),
    source=st.none() | st.sampled_from(BackupSource),
    is_protected=st.none() | st.booleans(),
    run_lock=st.none() | st.sampled_from(RUN_LOCKS),
)


shared_by_subclasses = settings(
    suppress_health_check=[
        HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.differing_executors
    ]
)
"""Each implementation's subclass runs the same property test: a different executor on purpose."""


class CatalogContract:
    """Subclasses provide the fixture `catalog_factory`: a callable that returns a new, empty catalog
    whose clock is the `clock` fixture."""

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(datetime(2026, 5, 1, 8, 30, tzinfo=UTC))

    @pytest.fixture
    def catalog(self, catalog_factory: CatalogFactory) -> Catalog:
        return catalog_factory()

    # Backups: single records

    @shared_by_subclasses
    @given(backup=backups())
    def test_property_2_metadata_round_trips(self, catalog_factory: CatalogFactory, backup: Backup) -> None:
        catalog = catalog_factory()
        catalog.add_backup(backup)
        stored = catalog.get_backup(backup.id)
        assert stored == backup
        assert stored.created_at.tzinfo is UTC
        assert stored.completed_at is None or stored.completed_at.tzinfo is UTC

    def test_add_refuses_an_existing_id(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("b1"))
        with pytest.raises(InvalidInputError, match="b1"):
            catalog.add_backup(make_backup("b1", filename="other.sql.gz"))
        assert catalog.get_backup("b1").filename == "b1.sql.gz"

    def test_get_unknown_id_is_not_found(self, catalog: Catalog) -> None:
        with pytest.raises(NotFoundError, match="nope"):
            catalog.get_backup("nope")

    @pytest.mark.parametrize("backup_id", ["", "a/b", ".", "..", "__x__", "x" * 201])
    def test_unusable_ids_are_refused_and_never_found(self, catalog: Catalog, backup_id: str) -> None:
        with pytest.raises(InvalidInputError, match="backup id"):
            catalog.add_backup(make_backup(backup_id))
        with pytest.raises(NotFoundError):
            catalog.get_backup(backup_id)
        with pytest.raises((NotFoundError, InvalidInputError)):
            catalog.update_backup(make_backup(backup_id))
        catalog.delete_backup(backup_id)
        assert catalog.list_backups().backups == []

    def test_update_replaces_every_field(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("b1", table_rows={"a": 1}, warnings=["w"]))
        done = make_backup(
            "b1",
            status=BackupStatus.COMPLETED,
            completed_at=BASE_TIME + timedelta(minutes=5),
            file_size=123,
            sha256="ab" * 32,
            is_protected=True,
            locations=[
                StorageLocation(StorageKind.LOCAL, "b1.sql.gz"),
                StorageLocation(StorageKind.DRIVE, "x"),
            ],
            table_rows={"orders": 10, "items": 0},
            warnings=[],
            error_message=None,
        )
        catalog.update_backup(done)
        assert catalog.get_backup("b1") == done

    def test_update_of_named_attributes_leaves_the_others_as_stored(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("b1", warnings=["w"], restoring="r1"))
        catalog.update_backup(make_backup("b1", is_protected=True, warnings=["w"], restoring="r1"))
        stale = make_backup("b1", restoring=None, warnings=["w", "more"], file_size=99)
        stale.database.name = "elsewhere"
        catalog.update_backup(stale, only=("restoring", "warnings", "database"))
        stored = catalog.get_backup("b1")
        assert stored.is_protected, "a stale copy's is_protected was written"
        assert stored.file_size is None
        assert (stored.restoring, stored.warnings, stored.database.name) == (None, ["w", "more"], "elsewhere")

    def test_update_of_an_unknown_attribute_is_refused(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("b1"))
        for names in (("no_such_attribute",), ("id",)):
            with pytest.raises(ValueError, match="not a writable attribute"):
                catalog.update_backup(make_backup("b1", file_size=1), only=names)
        assert catalog.get_backup("b1").file_size is None

    def test_update_if_status_writes_nothing_once_the_status_changed(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("b1", status=BackupStatus.RUNNING))
        settled = make_backup("b1", status=BackupStatus.FAILED, error_message="interrupted")
        catalog.update_backup(settled, if_status=(BackupStatus.PENDING, BackupStatus.RUNNING))
        late = make_backup("b1", status=BackupStatus.COMPLETED, sha256="ab" * 32)
        with pytest.raises(RecordChangedError, match="b1 is failed now, not running"):
            catalog.update_backup(late, if_status=(BackupStatus.RUNNING,))
        with pytest.raises(RecordChangedError):
            catalog.update_backup(late, only=("sha256",), if_status=(BackupStatus.RUNNING,))
        assert catalog.get_backup("b1") == settled
        with pytest.raises(NotFoundError):
            catalog.update_backup(make_backup("ghost"), if_status=(BackupStatus.RUNNING,))

    def test_update_of_unknown_id_is_not_found(self, catalog: Catalog) -> None:
        with pytest.raises(NotFoundError):
            catalog.update_backup(make_backup("ghost"))
        with pytest.raises(NotFoundError):
            catalog.get_backup("ghost")

    def test_delete_removes_and_tolerates_missing(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("b1"))
        catalog.add_backup(make_backup("b2"))
        catalog.delete_backup("b1")
        catalog.delete_backup("b1")
        catalog.delete_backup("never-was")
        with pytest.raises(NotFoundError):
            catalog.get_backup("b1")
        assert [backup.id for backup in catalog.list_backups().backups] == ["b2"]

    def test_naive_datetimes_are_refused(self, catalog: Catalog) -> None:
        with pytest.raises(InvalidInputError, match="timezone"):
            catalog.add_backup(make_backup("b1", created_at=datetime(2026, 1, 1)))
        with pytest.raises(NotFoundError):
            catalog.get_backup("b1")

    # Backups: listing

    def test_list_is_newest_first_then_by_id_descending(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("a", BASE_TIME))
        catalog.add_backup(make_backup("c", BASE_TIME))
        catalog.add_backup(make_backup("b", BASE_TIME))
        catalog.add_backup(make_backup("old", BASE_TIME - HOUR))
        catalog.add_backup(make_backup("new", BASE_TIME + timedelta(microseconds=1)))
        page = catalog.list_backups()
        assert [backup.id for backup in page.backups] == ["new", "c", "b", "a", "old"]
        assert page.next_cursor is None

    def test_list_of_an_empty_catalog(self, catalog: Catalog) -> None:
        page = catalog.list_backups()
        assert page.backups == []
        assert page.next_cursor is None

    def test_list_instants_not_wall_clock_texts(self, catalog: Catalog) -> None:
        """10:00+02:00 is before 09:00Z, whatever their texts say."""
        plus_two = timezone(timedelta(hours=2))
        catalog.add_backup(make_backup("plus2", datetime(2026, 1, 1, 10, 0, tzinfo=plus_two)))
        catalog.add_backup(make_backup("utc", datetime(2026, 1, 1, 9, 0, tzinfo=UTC)))
        assert [backup.id for backup in catalog.list_backups().backups] == ["utc", "plus2"]

    def test_paging_across_many_equal_created_at(self, catalog: Catalog) -> None:
        ids = [f"id-{number:03d}" for number in range(25)]
        for backup_id in ids:
            catalog.add_backup(make_backup(backup_id, BASE_TIME))
        pages = all_pages(catalog, None, limit=10)
        assert [len(page) for page in pages] == [10, 10, 5]
        assert [backup.id for page in pages for backup in page] == sorted(ids, reverse=True)

    def test_a_full_last_page_has_no_next_cursor(self, catalog: Catalog) -> None:
        for number in range(6):
            catalog.add_backup(make_backup(f"id-{number}", BASE_TIME + timedelta(seconds=number)))
        pages = all_pages(catalog, None, limit=3)
        assert [len(page) for page in pages] == [3, 3]

    def test_default_limit_is_50(self, catalog: Catalog) -> None:
        for number in range(51):
            catalog.add_backup(make_backup(f"id-{number:02d}", BASE_TIME))
        page = catalog.list_backups()
        assert len(page.backups) == 50
        assert page.next_cursor is not None

    @pytest.mark.parametrize("limit", [0, -1, 1001, 10**6])
    def test_limit_outside_1_to_1000_is_refused(self, catalog: Catalog, limit: int) -> None:
        with pytest.raises(InvalidInputError, match="limit"):
            catalog.list_backups(limit=limit)

    def test_limit_bounds_are_accepted(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("b1"))
        catalog.add_backup(make_backup("b2"))
        assert len(catalog.list_backups(limit=1).backups) == 1
        assert len(catalog.list_backups(limit=1000).backups) == 2

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage!",
            "",
            "bm90IGpzb24",
            base64.urlsafe_b64encode(b'{"v":1}').decode(),
            base64.urlsafe_b64encode(b'{"v":1,"c":"yesterday","i":"x"}').decode(),
            base64.urlsafe_b64encode(b'{"v":9,"c":"2026-01-01T00:00:00+00:00","i":"x"}').decode(),
            base64.urlsafe_b64encode(b'{"v":1,"c":"2026-01-01T00:00:00","i":"x"}').decode(),
            base64.urlsafe_b64encode(b"[1, 2]").decode(),
        ],
    )
    def test_a_cursor_this_catalog_did_not_make_is_refused(self, catalog: Catalog, cursor: str) -> None:
        with pytest.raises(InvalidInputError, match="invalid cursor"):
            catalog.list_backups(cursor=cursor)

    def test_filters_alone_and_combined(self, catalog: Catalog) -> None:
        catalog.add_backup(make_backup("m-done", status=BackupStatus.COMPLETED, run_lock="db-shop"))
        catalog.add_backup(make_backup("m-done-prot", status=BackupStatus.COMPLETED, is_protected=True))
        catalog.add_backup(
            make_backup(
                "s-fail", status=BackupStatus.FAILED, source=BackupSource.SCHEDULED, run_lock="db-crm"
            )
        )
        catalog.add_backup(
            make_backup("s-done-prot", status=BackupStatus.COMPLETED, source=BackupSource.SCHEDULED,
                        is_protected=True)
        )

        def listed(**fields: object) -> list[str]:
            chosen = BackupFilter(**fields)  # type: ignore[arg-type]
            return sorted(backup.id for backup in catalog.list_backups(chosen).backups)

        assert listed(status=BackupStatus.COMPLETED) == ["m-done", "m-done-prot", "s-done-prot"]
        assert listed(source=BackupSource.SCHEDULED) == ["s-done-prot", "s-fail"]
        assert listed(is_protected=True) == ["m-done-prot", "s-done-prot"]
        assert listed(is_protected=False) == ["m-done", "s-fail"]
        assert listed(status=BackupStatus.COMPLETED, source=BackupSource.SCHEDULED) == ["s-done-prot"]
        assert listed(status=BackupStatus.COMPLETED, is_protected=False) == ["m-done"]
        assert listed(source=BackupSource.MANUAL, is_protected=True) == ["m-done-prot"]
        failed_scheduled = listed(
            status=BackupStatus.FAILED, source=BackupSource.SCHEDULED, is_protected=False
        )
        assert failed_scheduled == ["s-fail"]
        assert listed(status=BackupStatus.PENDING) == []
        assert listed(run_lock="db-shop") == ["m-done"]
        assert listed(run_lock="db-crm", source=BackupSource.SCHEDULED) == ["s-fail"]
        assert listed(run_lock="db-crm", status=BackupStatus.COMPLETED) == []
        assert len(listed()) == 4

    @shared_by_subclasses
    @given(items=backup_sets(), chosen=filters, limit=st.integers(1, 7))
    def test_property_6_pages_concatenated_are_the_sorted_filtered_list(
        self, catalog_factory: CatalogFactory, items: list[Backup], chosen: BackupFilter, limit: int
    ) -> None:
        catalog = catalog_factory()
        for backup in items:
            catalog.add_backup(backup)
        pages = all_pages(catalog, chosen, limit)
        listed = [backup for page in pages for backup in page]
        assert listed == newest_first([backup for backup in items if matches(backup, chosen)])

    # Settings

    def test_settings_default_when_never_saved(self, catalog: Catalog) -> None:
        assert catalog.get_settings() == BackupSettings()

    def test_settings_round_trip_stamped_with_the_clock(self, catalog: Catalog, clock: FixedClock) -> None:
        chosen = BackupSettings(
            schedule_enabled=True,
            schedule_frequency=ScheduleFrequency.WEEKLY,
            schedule_time="03:15",
            schedule_weekday=6,
            cron_expression=None,
            time_zone="Europe/Amsterdam",
            retention_daily=3,
            retention_weekly=2,
            retention_monthly=12,
            google_drive_enabled=True,
            google_drive_folder_id="folder-1",
            notification_emails=["a@example.com", "b@example.com"],
        )
        catalog.save_settings(chosen)
        assert catalog.get_settings() == replace(chosen, updated_at=clock.now())
        clock.advance(HOUR)
        catalog.save_settings(replace(chosen, schedule_enabled=False, notification_emails=[]))
        stored = catalog.get_settings()
        assert stored.schedule_enabled is False
        assert stored.notification_emails == []
        assert stored.updated_at == clock.now()
        assert stored.updated_at is not None and stored.updated_at.tzinfo is UTC

    # Audit log

    def test_add_log_assigns_an_id_and_keeps_the_fields(self, catalog: Catalog) -> None:
        entry = BackupLog(actor="ops", action=AuditAction.CREATE, created_at=BASE_TIME, backup_id="b1",
                          details={"size": 12, "note": "ok", "nested": {"a": [1, 2]}})
        stored = catalog.add_log(entry)
        assert stored.id is not None and len(stored.id) == 32
        int(stored.id, 16)
        assert replace(stored, id=None) == entry
        assert catalog.list_logs() == [stored]
        assert catalog.add_log(entry).id != stored.id

    def test_log_details_are_kept_as_plain_json(self, catalog: Catalog) -> None:
        entry = BackupLog(actor="ops", action=AuditAction.RESTORE, created_at=BASE_TIME,
                          details={"when": BASE_TIME, "pairs": [[1, 2], [3]], "none": None, "ok": True})
        stored = catalog.add_log(entry)
        expected = {"when": str(BASE_TIME), "pairs": [[1, 2], [3]], "none": None, "ok": True}
        assert stored.details == expected
        assert catalog.list_logs()[0].details == expected

    def test_logs_are_newest_first_and_filter_by_backup(self, catalog: Catalog) -> None:
        first = catalog.add_log(BackupLog("ops", AuditAction.CREATE, BASE_TIME, backup_id="b1"))
        second = catalog.add_log(BackupLog("ops", AuditAction.PROTECT, BASE_TIME + HOUR, backup_id="b1"))
        other = catalog.add_log(BackupLog("ops", AuditAction.SETTINGS_CHANGE, BASE_TIME + 2 * HOUR))
        older = catalog.add_log(BackupLog("ops", AuditAction.CREATE, BASE_TIME - HOUR, backup_id="b2"))
        assert catalog.list_logs() == [other, second, first, older]
        assert catalog.list_logs(backup_id="b1") == [second, first]
        assert catalog.list_logs(backup_id="none") == []
        assert catalog.list_logs(limit=2) == [other, second]

    def test_logs_with_equal_times_list_the_latest_added_first(self, catalog: Catalog) -> None:
        added = [catalog.add_log(BackupLog("ops", AuditAction.DOWNLOAD, BASE_TIME, backup_id="b1"))
                 for _ in range(5)]
        assert catalog.list_logs(backup_id="b1") == added[::-1]

    @pytest.mark.parametrize("limit", [0, 1001])
    def test_log_limit_outside_1_to_1000_is_refused(self, catalog: Catalog, limit: int) -> None:
        with pytest.raises(InvalidInputError, match="limit"):
            catalog.list_logs(limit=limit)

    # Locks

    def test_lock_is_exclusive_until_released(self, catalog: Catalog) -> None:
        assert catalog.acquire_lock("db:shop", "run-1", BASE_TIME, HOUR)
        assert not catalog.acquire_lock("db:shop", "run-2", BASE_TIME, HOUR)
        assert catalog.acquire_lock("db:other", "run-2", BASE_TIME, HOUR)
        catalog.release_lock("db:shop", "run-2")
        assert not catalog.acquire_lock("db:shop", "run-2", BASE_TIME, HOUR)
        catalog.release_lock("db:shop", "run-1")
        assert catalog.acquire_lock("db:shop", "run-2", BASE_TIME, HOUR)

    def test_the_owner_extends_its_lock(self, catalog: Catalog) -> None:
        assert catalog.acquire_lock("db", "run-1", BASE_TIME, HOUR)
        assert catalog.acquire_lock("db", "run-1", BASE_TIME + 50 * timedelta(minutes=1), HOUR)
        assert not catalog.acquire_lock("db", "run-2", BASE_TIME + 90 * timedelta(minutes=1), HOUR)

    def test_an_expired_lock_is_taken_over(self, catalog: Catalog) -> None:
        assert catalog.acquire_lock("db", "crashed", BASE_TIME, HOUR)
        assert not catalog.acquire_lock("db", "next", BASE_TIME + HOUR - timedelta(seconds=1), HOUR)
        assert catalog.acquire_lock("db", "next", BASE_TIME + HOUR, HOUR)
        catalog.release_lock("db", "crashed")
        assert not catalog.acquire_lock("db", "third", BASE_TIME + HOUR, HOUR)

    def test_releasing_a_lock_nobody_holds_is_harmless(self, catalog: Catalog) -> None:
        catalog.release_lock("db", "anyone")
        assert catalog.acquire_lock("db", "run-1", BASE_TIME, HOUR)

    @pytest.mark.parametrize("ttl", [timedelta(0), -HOUR])
    def test_a_lock_needs_a_positive_ttl(self, catalog: Catalog, ttl: timedelta) -> None:
        with pytest.raises(InvalidInputError, match="ttl"):
            catalog.acquire_lock("db", "run-1", BASE_TIME, ttl)

    def test_contending_owners_get_the_lock_once(self, catalog: Catalog) -> None:
        results: dict[str, bool] = {}
        start = threading.Barrier(4)

        def contend(owner: str) -> None:
            start.wait()
            results[owner] = catalog.acquire_lock("db:busy", owner, BASE_TIME, HOUR)

        threads = [threading.Thread(target=contend, args=(f"owner-{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(results) == 4
        winners = [owner for owner, won in results.items() if won]
        assert len(winners) == 1
        losers = [owner for owner in results if owner != winners[0]]
        assert not catalog.acquire_lock("db:busy", losers[0], BASE_TIME, HOUR)

    # Idempotent run claims

    def test_claim_then_in_progress_then_done(self, catalog: Catalog) -> None:
        first = catalog.claim_run("sched:2026-05-01T02:00", "attempt-1", BASE_TIME, HOUR)
        assert first.claimed and first.state is RunClaimState.CLAIMED
        assert (first.owner, first.attempt) == ("attempt-1", 1)

        busy = catalog.claim_run("sched:2026-05-01T02:00", "attempt-2", BASE_TIME, HOUR)
        assert busy.state is RunClaimState.IN_PROGRESS and not busy.claimed
        assert busy.owner == "attempt-1"

        assert catalog.finish_run("sched:2026-05-01T02:00", "attempt-1", "b-42", succeeded=True)
        for owner in ("attempt-2", "attempt-1"):
            done = catalog.claim_run("sched:2026-05-01T02:00", owner, BASE_TIME + 3 * HOUR, HOUR)
            assert done.state is RunClaimState.DONE and done.backup_id == "b-42"
        assert catalog.claim_run("sched:other", "attempt-2", BASE_TIME, HOUR).claimed

    def test_the_owner_claiming_again_extends_its_claim(self, catalog: Catalog) -> None:
        assert catalog.claim_run("k", "a", BASE_TIME, HOUR).claimed
        again = catalog.claim_run("k", "a", BASE_TIME + 50 * timedelta(minutes=1), HOUR)
        assert again.claimed and again.attempt == 1
        assert catalog.claim_run("k", "b", BASE_TIME + 90 * timedelta(minutes=1), HOUR).state is (
            RunClaimState.IN_PROGRESS
        )

    def test_a_failed_run_can_be_claimed_again(self, catalog: Catalog) -> None:
        assert catalog.claim_run("k", "attempt-1", BASE_TIME, HOUR).claimed
        assert catalog.finish_run("k", "attempt-1", "b-failed", succeeded=False)
        retry = catalog.claim_run("k", "attempt-2", BASE_TIME + timedelta(minutes=1), HOUR)
        assert retry.claimed and retry.attempt == 2 and retry.owner == "attempt-2"
        assert catalog.claim_run("k", "attempt-3", BASE_TIME, HOUR).state is RunClaimState.IN_PROGRESS
        assert catalog.finish_run("k", "attempt-2", "b-ok", succeeded=True)
        assert catalog.claim_run("k", "attempt-3", BASE_TIME, HOUR).backup_id == "b-ok"

    def test_an_expired_claim_is_taken_over_and_the_old_owner_cannot_finish(self, catalog: Catalog) -> None:
        assert catalog.claim_run("k", "slow", BASE_TIME, HOUR).claimed
        takeover = catalog.claim_run("k", "retry", BASE_TIME + HOUR, HOUR)
        assert takeover.claimed and takeover.attempt == 2
        assert not catalog.finish_run("k", "slow", "b-slow", succeeded=True)
        assert catalog.claim_run("k", "third", BASE_TIME + HOUR, HOUR).state is RunClaimState.IN_PROGRESS
        assert catalog.finish_run("k", "retry", "b-retry", succeeded=True)
        assert catalog.claim_run("k", "third", BASE_TIME + HOUR, HOUR).backup_id == "b-retry"

    def test_a_refused_attempt_counts_so_the_last_one_knows_it_is_the_last(self, catalog: Catalog) -> None:
        """A crashed attempt's claim outlives Scheduler's first retries: each is refused, and counted."""
        assert catalog.claim_run("k", "crashed", BASE_TIME, HOUR).attempt == 1
        refused = [catalog.claim_run("k", f"retry-{n}", BASE_TIME, HOUR) for n in (1, 2)]
        assert [(claim.state, claim.attempt, claim.owner) for claim in refused] == [
            (RunClaimState.IN_PROGRESS, 2, "crashed"),
            (RunClaimState.IN_PROGRESS, 3, "crashed"),
        ]
        assert catalog.claim_run("k", "crashed", BASE_TIME + timedelta(minutes=1), HOUR).attempt == 3
        takeover = catalog.claim_run("k", "retry-3", BASE_TIME + 2 * HOUR, HOUR)
        assert takeover.claimed and takeover.attempt == 4

    def test_finish_by_a_stranger_or_of_an_unknown_run_changes_nothing(self, catalog: Catalog) -> None:
        assert not catalog.finish_run("unknown", "a", None, succeeded=True)
        assert catalog.claim_run("k", "a", BASE_TIME, HOUR).claimed
        assert not catalog.finish_run("k", "b", "b-x", succeeded=True)
        assert catalog.claim_run("k", "b", BASE_TIME, HOUR).state is RunClaimState.IN_PROGRESS
        assert catalog.finish_run("k", "a", None, succeeded=False)
        assert not catalog.finish_run("k", "a", None, succeeded=True)
        assert catalog.claim_run("k", "b", BASE_TIME, HOUR).claimed

    def test_contending_claims_are_granted_once(self, catalog: Catalog) -> None:
        results: dict[str, RunClaimState] = {}
        start = threading.Barrier(4)

        def contend(owner: str) -> None:
            start.wait()
            results[owner] = catalog.claim_run("sched:race", owner, BASE_TIME, HOUR).state

        threads = [threading.Thread(target=contend, args=(f"owner-{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sorted(results.values()) == [RunClaimState.CLAIMED] + [RunClaimState.IN_PROGRESS] * 3
