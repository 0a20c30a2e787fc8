"""A schema too large to lock in one transaction is restored in steps instead of failing."""

from __future__ import annotations

import pytest

from shared.engines.postgres.dump_splitter import DumpSplitter, Statements
from shared.engines.postgres.lock_steps import LOCK_TABLE_SHARE, lock_budget
from shared.engines.postgres.releases import release
from shared.engines.postgres.restorer import restore_stream
from shared.errors import RestoreError
from tests.databases import fresh_postgres_database, postgres_admin
from tests.engines.postgres.database_state import (
    chunks_of,
    connect,
    database_state,
    dump_to_bytes,
    engine,
    run_sql,
)
from tests.engines.postgres.test_restore_session import AWKWARD_SCHEMA

MANY_LARGE_OBJECTS = "SELECT lo_from_bytea(0, int4send(g)) FROM generate_series(1, 150) g;"
"""Enough `lo_open`/`lowrite`/`lo_close` triples that statement batches end between them."""


def _lock_table_size() -> int:
    with postgres_admin() as conn:
        return lock_budget(conn) * LOCK_TABLE_SHARE


def test_more_tables_than_the_server_can_lock_at_once_restore_over_themselves() -> None:
    """Each table and its primary key take a lock: together 25% more than the server's whole lock table,
    both to clear and to load."""
    tables = _lock_table_size() * 5 // 8
    if tables > 10_000:
        pytest.skip(
            f"LOUD SKIP: this server's lock table is too large to overflow in a test ({tables} tables)"
        )
    with fresh_postgres_database("pgmany") as source:
        run_sql(  # alone in its query, or the server runs it in a transaction and it cannot commit
            source,
            f"""DO $$ BEGIN FOR i IN 1..{tables} LOOP
                    EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text)', i);
                    IF i % 500 = 0 THEN COMMIT; END IF;
                END LOOP; END $$""",
        )
        run_sql(source, f"INSERT INTO t1 VALUES (1, 'first'); INSERT INTO t{tables} VALUES (2, 'last')")
        dump, _ = dump_to_bytes(source)
        run_sql(source, "UPDATE t1 SET v = 'changed after the backup'")
        engine(source).restore(dump)
        with connect(source) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),"
                " (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public')"
            ).fetchone()
            assert counts == (tables, tables)
            assert conn.execute(f"SELECT v FROM t1 UNION ALL SELECT v FROM t{tables}").fetchall() == [
                ("first",),
                ("last",),
            ]


def test_steps_never_end_a_transaction_with_a_large_object_open() -> None:
    """A budget of no locks at all commits at every point where a transaction may end."""
    with fresh_postgres_database("pglo") as source, fresh_postgres_database("pglor") as target:
        run_sql(source, AWKWARD_SCHEMA + MANY_LARGE_OBJECTS)
        dump, _ = dump_to_bytes(source)
        restore_stream(target, "the test database", chunks_of(b"".join(dump), 4096), lock_budget=0)
        assert database_state(target) == database_state(source)


def test_a_failure_after_a_step_says_that_the_database_is_incomplete() -> None:
    with fresh_postgres_database("pgls") as source, fresh_postgres_database("pglsr") as target:
        run_sql(source, AWKWARD_SCHEMA)
        whole = b"".join(dump_to_bytes(source)[0])
        broken = whole + b"SELECT 1 / 0;\n"
        with pytest.raises(RestoreError, match=r"after part of it was committed .* is incomplete: division"):
            restore_stream(target, "the test database", [broken], lock_budget=0)
        with pytest.raises(RestoreError, match="left as it was: division by zero"):
            restore_stream(target, "the test database", [broken])


def test_batches_say_whether_a_large_object_is_open_where_they_end() -> None:
    triples = b"".join(
        b"SELECT pg_catalog.lo_open('%d', 131072);\nSELECT pg_catalog.lowrite(0, '\\x00');\n"
        b"SELECT pg_catalog.lo_close(0);\n" % oid
        for oid in range(1, 101)
    )
    splitter = DumpSplitter(release(15))
    section = b"--\n-- Data for Name: BLOBS; Type: BLOBS; Schema: -; Owner: -\n--\n\nBEGIN;\n"
    pieces = splitter.feed(section + triples + b"COMMIT;\n\n-- PostgreSQL database dump complete\n\n")
    batches = [piece for piece in [*pieces, *splitter.finish()] if isinstance(piece, Statements)]
    assert len(batches) == 2  # 300 statements: 200 in the first batch
    assert [batch.may_end_transaction for batch in batches] == [False, True]
    assert batches[0].sql.endswith(b"lowrite(0, '\\x00');")
