"""Service fixtures: a real database (MariaDB or PostgreSQL), the embedded catalog and local storage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.services.backups import BackupService
from shared.services.context import ServiceContext
from shared.services.restore import RestoreService
from shared.wiring import build_context
from tests.databases import fresh_mysql_database, fresh_postgres_database
from tests.sample_data import load_sample


@pytest.fixture(params=["mysql", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> Iterator[DatabaseURL]:
    fresh = fresh_mysql_database if request.param == "mysql" else fresh_postgres_database
    with fresh("svc") as url:
        load_sample(url)
        yield url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))


def make_context(home: Path, url: DatabaseURL | None, clock: FixedClock) -> ServiceContext:
    return build_context(Config(database_url=url, home=home), clock)


@pytest.fixture
def context(tmp_path: Path, db_url: DatabaseURL, clock: FixedClock) -> ServiceContext:
    return make_context(tmp_path / "home", db_url, clock)


@pytest.fixture
def backups(context: ServiceContext) -> BackupService:
    return BackupService(context)


@pytest.fixture
def restores(context: ServiceContext, backups: BackupService) -> RestoreService:
    return RestoreService(context, backups)
