"""`FirestoreCatalog` against the catalog contract on Google's Firestore emulator, and its index list."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore

from shared.catalog.base import BackupFilter, Catalog
from shared.catalog.firestore import DELETE_AFTER_FIELD, FirestoreCatalog
from shared.catalog.firestore_indexes import COMPOSITE_INDEXES, required_index
from shared.clock import FixedClock
from shared.models import BackupSource, BackupStatus
from tests.catalog.strategies import BASE_TIME, make_backup
from tests.contracts.catalog_contract import CatalogContract, CatalogFactory
from tests.emulators.firestore import FirestoreEmulator


def assert_indexes_declared(catalog: FirestoreCatalog) -> None:
    needed = {required_index(shape) for shape in catalog.issued_query_shapes} - {None}
    missing = needed - set(COMPOSITE_INDEXES)
    assert not missing, f"declare these in shared/catalog/firestore_indexes.py (and Terraform): {missing}"


class TestFirestoreCatalog(CatalogContract):
    @pytest.fixture
    def catalog_factory(
        self, firestore_client: firestore.Client, clock: FixedClock
    ) -> Iterator[CatalogFactory]:
        """Each contract test also checks that every query it made has its composite index declared."""
        made: list[FirestoreCatalog] = []

        def make() -> Catalog:
            made.append(FirestoreCatalog(firestore_client, prefix=f"t{uuid.uuid4().hex[:12]}_", clock=clock))
            return made[-1]

        yield make
        for catalog in made:
            assert_indexes_declared(catalog)


def _every_query_shape(catalog: FirestoreCatalog) -> None:
    """Make the catalog issue every query it can: each filter combination, with and without a cursor,
    and the audit log with and without a backup."""
    catalog.add_backup(make_backup("b1", BASE_TIME, run_lock="db-x"))
    catalog.add_backup(make_backup("b2", BASE_TIME, run_lock="db-x"))
    statuses: list[BackupStatus | None] = [None, BackupStatus.PENDING]
    sources: list[BackupSource | None] = [None, BackupSource.MANUAL]
    protections: list[bool | None] = [None, False]
    for status, source, protected, lock in itertools.product(statuses, sources, protections, [None, "db-x"]):
        chosen = BackupFilter(status=status, source=source, is_protected=protected, run_lock=lock)
        page = catalog.list_backups(chosen, limit=1)
        assert page.next_cursor is not None
        catalog.list_backups(chosen, limit=1, cursor=page.next_cursor)
    catalog.list_logs()
    catalog.list_logs(backup_id="b1")
    catalog.get_backup("b1")
    catalog.get_settings()
    catalog.acquire_lock("db", "me", BASE_TIME, timedelta(hours=1))
    catalog.claim_run("run", "me", BASE_TIME, timedelta(hours=1))


def test_every_query_has_its_composite_index_declared(firestore_client: firestore.Client) -> None:
    catalog = FirestoreCatalog(firestore_client, prefix="shapes_")
    _every_query_shape(catalog)
    assert len(catalog.issued_query_shapes) == 18
    assert_indexes_declared(catalog)
    needed = {required_index(shape) for shape in catalog.issued_query_shapes} - {None}
    unused = set(COMPOSITE_INDEXES) - needed
    assert not unused, f"declared but no query needs them: {unused}"
    assert len(COMPOSITE_INDEXES) == len(set(COMPOSITE_INDEXES))


def test_catalogs_with_different_prefixes_do_not_see_each_other(firestore_client: firestore.Client) -> None:
    first = FirestoreCatalog(firestore_client, prefix="one_")
    second = FirestoreCatalog(firestore_client, prefix="two_")
    first.add_backup(make_backup("b1"))
    assert first.acquire_lock("db", "a", BASE_TIME, timedelta(hours=1))
    assert second.list_backups().backups == []
    assert second.acquire_lock("db", "b", BASE_TIME, timedelta(hours=1))


def test_lock_names_and_run_keys_may_hold_slashes(firestore_client: firestore.Client) -> None:
    catalog = FirestoreCatalog(firestore_client)
    job = "projects/p/locations/l/jobs/nightly@2026-05-01T02:00:00Z"
    assert catalog.claim_run(job, "a", BASE_TIME, timedelta(hours=1)).claimed
    assert not catalog.claim_run(job, "b", BASE_TIME, timedelta(hours=1)).claimed
    for name in ("..", "__x__", "db/shop"):
        assert catalog.acquire_lock(name, "a", BASE_TIME, timedelta(hours=1))
        assert not catalog.acquire_lock(name, "b", BASE_TIME, timedelta(hours=1))


def test_emulator_fixture_points_the_client_at_the_emulator(firestore_emulator: FirestoreEmulator) -> None:
    assert os.environ["FIRESTORE_EMULATOR_HOST"] == firestore_emulator.host


KEPT = timedelta(days=30)
"""Written out here rather than imported, so that a change to the constant is a change to this test too."""


def _stored(client: firestore.Client, collection: str) -> list[dict[str, Any]]:
    return [snapshot.to_dict() or {} for snapshot in client.collection(collection).stream()]


def _delete_after(client: firestore.Client, collection: str) -> datetime:
    [document] = _stored(client, collection)
    moment = document[DELETE_AFTER_FIELD]
    assert isinstance(moment, datetime), f"a TTL policy acts only on a timestamp, not {moment!r}"
    return moment


def test_every_write_of_a_run_claim_sets_its_delete_after(firestore_client: firestore.Client) -> None:
    """Firestore's TTL policy deletes a claim once `delete_after` has passed (infra/firestore.tf): each write
    moves it 30 days past that write (or past the claim's expiry, when that is later)."""
    clock = FixedClock(BASE_TIME)
    catalog = FirestoreCatalog(firestore_client, prefix="ttl_", clock=clock)
    hour = timedelta(hours=1)
    assert catalog.claim_run("k", "a", BASE_TIME, hour).claimed
    assert _delete_after(firestore_client, "ttl_runs") == BASE_TIME + hour + KEPT

    clock.advance(timedelta(minutes=20))  # a heartbeat extends the claim
    assert catalog.claim_run("k", "a", clock.now(), hour).claimed
    assert _delete_after(firestore_client, "ttl_runs") == clock.now() + hour + KEPT

    clock.advance(timedelta(minutes=10))  # a retry while it runs: the attempt is counted, a write too
    assert not catalog.claim_run("k", "b", clock.now(), hour).claimed
    assert _delete_after(firestore_client, "ttl_runs") == BASE_TIME + timedelta(minutes=20) + hour + KEPT

    clock.advance(2 * hour)  # finished after its claim expired: kept from the finish
    assert catalog.finish_run("k", "a", "b-1", succeeded=False)
    assert _delete_after(firestore_client, "ttl_runs") == clock.now() + KEPT

    clock.advance(hour)
    assert catalog.claim_run("k", "c", clock.now(), hour).claimed  # the retry of a failed run
    assert catalog.finish_run("k", "c", "b-2", succeeded=True)
    [document] = _stored(firestore_client, "ttl_runs")
    assert (document["state"], document["attempt"]) == ("succeeded", 3)
    assert document[DELETE_AFTER_FIELD] == clock.now() + hour + KEPT


def test_every_write_of_a_lock_sets_its_delete_after(firestore_client: firestore.Client) -> None:
    clock = FixedClock(BASE_TIME)
    catalog = FirestoreCatalog(firestore_client, prefix="ttl_", clock=clock)
    ttl = timedelta(minutes=10)
    assert catalog.acquire_lock("db", "a", BASE_TIME, ttl)
    assert _delete_after(firestore_client, "ttl_locks") == BASE_TIME + ttl + KEPT

    clock.advance(timedelta(minutes=3))  # refreshed while held
    assert catalog.acquire_lock("db", "a", clock.now(), ttl)
    assert _delete_after(firestore_client, "ttl_locks") == clock.now() + ttl + KEPT

    clock.advance(timedelta(hours=1))  # a crashed holder's lock, taken over
    assert catalog.acquire_lock("db", "b", clock.now(), ttl)
    assert _delete_after(firestore_client, "ttl_locks") == clock.now() + ttl + KEPT
    catalog.release_lock("db", "b")
    assert _stored(firestore_client, "ttl_locks") == []
