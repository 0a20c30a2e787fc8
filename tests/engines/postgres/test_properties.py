"""Properties 1 and 11 for PostgreSQL: random schemas and rows dump validly and restore identically."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from subprocess import DEVNULL

import pytest
from hypothesis import given

from shared.dburl import DatabaseURL
from shared.engines.postgres.dump_comments import TRAILER
from shared.engines.postgres.restorer import CLEAR_DATABASE, restore_stream
from tests.databases import fresh_postgres_database
from tests.engines.postgres.database_state import connect, database_state, dump_to_bytes, engine
from tests.engines.postgres.random_schema import RandomTable, build, random_database

STOCK_PSQL = ("/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres")


@pytest.fixture(scope="module")
def source() -> Iterator[DatabaseURL]:
    """One source database, emptied and rebuilt for each example."""
    with fresh_postgres_database("pgprop") as url:
        yield url


def rebuild(url: DatabaseURL, tables: list[RandomTable]) -> None:
    with connect(url) as conn:
        conn.execute(CLEAR_DATABASE)
        build(conn, tables)


def row_count_key(schema: str, table: str) -> str:
    """`schema.table`, a part holding a dot or a double quote quoted (README, Backups)."""
    def written(part: str) -> str:
        return '"' + part.replace('"', '""') + '"' if "." in part or '"' in part else part

    return f"{written(schema)}.{written(table)}"


@given(tables=random_database())
def test_property_1_backup_creation_produces_valid_file_postgres(
    source: DatabaseURL, tables: list[RandomTable], tmp_path_factory: pytest.TempPathFactory
) -> None:
    rebuild(source, tables)
    chunks, report = dump_to_bytes(source)
    dump = b"".join(chunks)
    assert TRAILER in dump[-400:]
    assert report.tables == {row_count_key(table.schema, table.name): len(table.rows) for table in tables}
    assert report.server_version.startswith("15.")
    dump_file = tmp_path_factory.mktemp("dump") / "dump.sql"
    dump_file.write_bytes(dump)
    with fresh_postgres_database("pgprop1") as target:
        subprocess.run([*STOCK_PSQL, "-d", target.database, "-f", str(dump_file)], check=True, stdout=DEVNULL)
        assert database_state(target) == database_state(source)


@given(tables=random_database())
def test_property_11_restore_round_trip_postgres(source: DatabaseURL, tables: list[RandomTable]) -> None:
    rebuild(source, tables)
    chunks, _ = dump_to_bytes(source)
    with fresh_postgres_database("pgprop11") as target:
        engine(target).restore(chunks)
        restored = database_state(target)
    expected = database_state(source)
    assert restored.rows == expected.rows
    assert restored.catalog == expected.catalog


def test_random_schemas_are_compared_by_content(source: DatabaseURL, tmp_path: Path) -> None:
    """The comparison itself can fail: one changed value changes the table's hash."""
    with connect(source) as conn:
        conn.execute(CLEAR_DATABASE)
        conn.execute("CREATE TABLE t (a text); INSERT INTO t VALUES ('x')")
        before = database_state(source)
        conn.execute("UPDATE t SET a = 'y'")
    assert database_state(source).rows != before.rows


@given(tables=random_database())
def test_property_11_restore_round_trip_postgres_over_several_connections(
    source: DatabaseURL, tables: list[RandomTable]
) -> None:
    """The opt-in parallel restore, with every COPY block that has data handed to the loaders."""
    rebuild(source, tables)
    chunks, _ = dump_to_bytes(source)
    with fresh_postgres_database("pgprop11p") as target:
        restore_stream(target, "the test database", chunks, connections=2, parallel_from_bytes=0)
        restored = database_state(target)
    expected = database_state(source)
    assert restored.rows == expected.rows
    assert restored.catalog == expected.catalog
