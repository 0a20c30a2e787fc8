"""A schema too large to lock in one transaction is restored in steps instead of failing."""

from __future__ import annotations

import psycopg
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

ROUTINES_AND_TYPES = """
CREATE SCHEMA "other schema";
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE FUNCTION positive(i integer) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT i > 0';
CREATE DOMAIN counted AS integer CHECK (positive(VALUE));
CREATE TYPE pair AS (left_side integer, right_side text);
CREATE TYPE float_span AS RANGE (subtype = float8);
CREATE TABLE feelings (id counted PRIMARY KEY, how mood, spans float_span[]);
INSERT INTO feelings VALUES (1, 'happy', ARRAY['[1.5,2)'::float_span]);
CREATE FUNCTION first_feeling(f feelings) RETURNS mood LANGUAGE sql AS 'SELECT f.how';
CREATE FUNCTION make_pair(integer, text) RETURNS pair LANGUAGE sql AS 'SELECT ROW($1, $2)::pair';
CREATE FUNCTION make_pair(text) RETURNS pair LANGUAGE sql AS 'SELECT ROW(0, $1)::pair';
CREATE FUNCTION "other schema"."Odd; name"(p pair) RETURNS text LANGUAGE sql AS 'SELECT p.right_side';
CREATE FUNCTION longest_step(state text, next text) RETURNS text LANGUAGE sql IMMUTABLE
    AS 'SELECT CASE WHEN length(next) > length(state) THEN next ELSE state END';
CREATE AGGREGATE longest(text) (sfunc = longest_step, stype = text, initcond = '');
CREATE PROCEDURE cheer(INOUT how mood) LANGUAGE sql AS $$ SELECT 'happy'::mood $$;
CREATE VIEW moods AS SELECT id, how, make_pair(id, how::text) AS p FROM feelings;
"""
"""One of each kind of routine and type, depending on each other and on a table, in two schemas."""

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
        stepped = engine(source)
        stepped.restore(dump)
        assert not stepped.restores_in_one_transaction  # so the restore service kept time for a put-back
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


def test_more_routines_and_types_than_the_server_can_lock_at_once_restore_over_themselves() -> None:
    """Dropping a routine or a type locks it: three times the server's whole lock table of them cannot be
    cleared in one transaction, so the restore drops them a group at a time."""
    functions, enums = _lock_table_size() * 2, _lock_table_size() // 2
    if functions > 40_000:
        pytest.skip(f"LOUD SKIP: this server's lock table is too large to overflow in a test ({functions})")
    with fresh_postgres_database("pgroutines") as source:
        run_sql(
            source,
            f"""DO $$ BEGIN
                    FOR i IN 1..{functions} LOOP EXECUTE
                        format('CREATE FUNCTION f%s() RETURNS int LANGUAGE sql AS ''SELECT %s''', i, i);
                    END LOOP;
                    FOR i IN 1..{enums} LOOP EXECUTE format('CREATE TYPE e%s AS ENUM (''a'')', i); END LOOP;
                END $$""",
        )
        with connect(source) as conn, pytest.raises(psycopg.errors.OutOfMemory):
            conn.execute("DROP SCHEMA public CASCADE")  # what clearing in one go meets; rolled back
        dump, _ = dump_to_bytes(source)
        run_sql(source, "DROP FUNCTION f1(); CREATE FUNCTION added_after_the_backup() RETURNS int RETURN 1")
        engine(source).restore(dump)
        with connect(source) as conn:
            names = "SELECT {0} FROM {1} JOIN pg_namespace n ON n.oid = {2} WHERE n.nspname = 'public'"
            routines = conn.execute(names.format("proname", "pg_proc", "pronamespace")).fetchall()
            types = conn.execute(names.format("typname", "pg_type", "typnamespace") + " AND typelem = 0")
            assert len(routines) == functions and ("f1",) in routines
            assert ("added_after_the_backup",) not in routines
            assert len(types.fetchall()) == enums


def test_every_kind_of_routine_and_type_is_dropped_in_steps() -> None:
    """A budget of no locks drops relations, routines and types one group at a time, in an order CASCADE
    can follow (functions a domain or a view uses, an aggregate's step function, overloads, odd names)."""
    with fresh_postgres_database("pgkinds") as source:
        run_sql(source, ROUTINES_AND_TYPES)
        dump, _ = dump_to_bytes(source)
        expected = database_state(source)
        run_sql(source, "DROP VIEW moods; CREATE TYPE added_after_the_backup AS (a int)")
        restore_stream(source, "the test database", dump, lock_budget=0)
        assert database_state(source) == expected


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
