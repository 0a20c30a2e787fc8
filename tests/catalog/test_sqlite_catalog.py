"""`SQLiteCatalog` against the catalog contract, plus what only a file can show (reopening, processes)."""

from __future__ import annotations

import multiprocessing
import sqlite3
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


FIRST_BACKUPS_TABLE = """
CREATE TABLE backups (
    id TEXT PRIMARY KEY, filename TEXT NOT NULL, database_engine TEXT NOT NULL, database_name TEXT NOT NULL,
    database_host TEXT NOT NULL, database_server_version TEXT NOT NULL, source TEXT NOT NULL,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL, compression TEXT NOT NULL,
    file_size INTEGER, sha256 TEXT, raw_size INTEGER, is_protected INTEGER NOT NULL, completed_at TEXT,
    error_message TEXT, locations TEXT NOT NULL, table_rows TEXT NOT NULL, warnings TEXT NOT NULL
);
INSERT INTO backups VALUES ('old', 'shop.sql.gz', 'mysql', 'shop', 'db', '10.11', 'manual', 'ops',
    '2026-11-01T00:00:00.000000+00:00', 'completed', 'gzip', 10, NULL, 20, 0, NULL, NULL, '[]', '{}', '[]');
"""
"""The backups table as the first catalogs made it, before `run_lock` and `restoring`."""


def test_a_catalog_file_from_before_run_locks_gains_the_columns_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(FIRST_BACKUPS_TABLE)
    catalog = SQLiteCatalog(path)
    old = catalog.get_backup("old")
    assert (old.filename, old.run_lock, old.restoring) == ("shop.sql.gz", None, None)
    old.run_lock, old.restoring = "db-lock", "b1"
    catalog.update_backup(old)
    reopened = SQLiteCatalog(path).get_backup("old")
    assert (reopened.run_lock, reopened.restoring) == ("db-lock", "b1")
