"""`SQLiteCatalog` against the catalog contract, plus what only a file can show (reopening, processes)."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from shared.catalog.base import Catalog
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import FixedClock
from tests.catalog.strategies import BASE_TIME, make_backup
from tests.contracts.catalog_contract import CatalogContract, CatalogFactory


class TestSQLiteCatalog(CatalogContract):
    @pytest.fixture
    def catalog_factory(self, tmp_path: Path, clock: FixedClock) -> CatalogFactory:
        def make() -> Catalog:
            return SQLiteCatalog(tmp_path / f"catalog-{uuid.uuid4().hex}.db", clock)

        return make


def test_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "catalog.db"
    SQLiteCatalog(path).add_backup(make_backup("b1"))
    assert SQLiteCatalog(path).get_backup("b1") == make_backup("b1")


def _contend(path: str, owner: str, results: multiprocessing.Queue[tuple[str, bool]]) -> None:
    catalog = SQLiteCatalog(Path(path))
    results.put((owner, catalog.acquire_lock("db:shop", owner, BASE_TIME, timedelta(hours=1))))


def test_processes_contending_for_a_lock_get_it_once(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    SQLiteCatalog(path)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[tuple[str, bool]] = context.Queue()
    workers = [context.Process(target=_contend, args=(str(path), f"p{n}", results)) for n in range(4)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(won for _, won in outcomes) == [False, False, False, True]


def test_an_unwritable_location_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    from shared.errors import StorageError

    with pytest.raises(StorageError, match="catalog"):
        SQLiteCatalog(blocker / "catalog.db")
