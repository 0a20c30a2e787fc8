"""`FirestoreCatalog` against the catalog contract on Google's Firestore emulator, and its index list."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from google.cloud import firestore

from shared.catalog.base import BackupFilter, Catalog
from shared.catalog.firestore import FirestoreCatalog
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
