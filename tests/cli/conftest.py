"""The command line's tests each get a fresh MySQL database with the sample data, and `cli`, which runs
`python main.py` against it with a BACKUP_HOME of their own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.dburl import DatabaseURL
from tests.cli.running import Cli
from tests.databases import fresh_mysql_database
from tests.sample_data import load_sample


def url_text(url: DatabaseURL) -> str:
    return f"mysql://{url.user}@{url.host}:{url.port}/{url.database}"


@pytest.fixture
def database() -> Iterator[DatabaseURL]:
    with fresh_mysql_database("cli") as url:
        load_sample(url)
        yield url


@pytest.fixture
def cli(tmp_path: Path, database: DatabaseURL) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_")}
    env.update(BACKUP_DATABASE_URL=url_text(database), BACKUP_HOME=str(tmp_path / "home"))
    return Cli(env)
