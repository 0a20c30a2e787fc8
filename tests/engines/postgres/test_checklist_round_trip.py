"""Checklist objects survive dump and restore: views on views, materialized views, sequences, LOs and more."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from subprocess import DEVNULL

import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.postgres import PostgresEngine
from shared.engines.postgres.tools import candidate_folders, tools_in
from tests.databases import fresh_postgres_database
from tests.engines.postgres.checklist_fixture import CHECKLIST_SCHEMA, EXPECTED_ROWS
from tests.engines.postgres.database_state import (
    connect,
    database_state,
    dump_to_bytes,
    engine,
    run_sql,
)

STOCK_PSQL = ("/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres")


@pytest.fixture(scope="module")
def checklist_database() -> Iterator[DatabaseURL]:
    with fresh_postgres_database("pgsrc") as url:
        run_sql(url, CHECKLIST_SCHEMA)
        yield url


def test_dump_reports_rows_version_and_completes(checklist_database: DatabaseURL) -> None:
    chunks, report = dump_to_bytes(checklist_database)
    dump = b"".join(chunks)
    assert report.tables == EXPECTED_ROWS
    assert report.server_version.startswith("15.")
    assert b"-- PostgreSQL database dump complete" in dump
    assert b"OWNER TO" not in dump and b"GRANT " not in dump
    assert b"lo_open" in dump and b"REFRESH MATERIALIZED VIEW" in dump


def test_restore_into_a_fresh_database_gives_the_same_database(checklist_database: DatabaseURL) -> None:
    chunks, _ = dump_to_bytes(checklist_database)
    with fresh_postgres_database("pgdst") as target:
        engine(target).restore(chunks)
        assert database_state(target) == database_state(checklist_database)
        with connect(target) as conn:
            assert conn.execute("SELECT sum(orders) FROM order_stats").fetchone() == (3,)
            assert conn.execute("SELECT nextval('invoice_numbers')").fetchone() == (5001,)
            assert conn.execute("""SELECT nextval('"Sales Dept"."Customers_id_seq"')""").fetchone() == (41,)


def test_restore_removes_what_the_backup_does_not_have(checklist_database: DatabaseURL) -> None:
    chunks, _ = dump_to_bytes(checklist_database)
    with fresh_postgres_database("pgdst") as target:
        run_sql(
            target,
            """CREATE EXTENSION hstore; CREATE SCHEMA extra; CREATE TABLE extra.t (a int);
               CREATE TABLE public.orders (x int); CREATE TABLE public.newer (y int);
               CREATE TYPE mood AS ENUM ('other'); SELECT lo_from_bytea(0, 'stale');""",
        )
        engine(target).restore(chunks)
        assert database_state(target) == database_state(checklist_database)


@pytest.mark.parametrize(
    "change",
    [
        "DROP SCHEMA public",
        "ALTER SCHEMA public RENAME TO app",
        "COMMENT ON SCHEMA public IS NULL",
        "COMMENT ON SCHEMA public IS 'ours'",
    ],
)
def test_the_public_schema_comes_back_as_the_source_had_it(change: str, tmp_path: Path) -> None:
    """pg_dump leaves out a missing `public` schema and, quoting every name, a removed comment on it."""
    with fresh_postgres_database("pgpub") as source:
        run_sql(source, f"{change}; CREATE SCHEMA kept; CREATE TABLE kept.t AS SELECT 1 AS a")
        chunks, _ = dump_to_bytes(source)
        with fresh_postgres_database("pgpubdst") as target:
            run_sql(target, "CREATE TABLE public.stale (b int)")
            engine(target).restore(chunks)
            assert database_state(target) == database_state(source)
            engine(target).restore(chunks)  # over itself, as a put-back goes
            assert database_state(target) == database_state(source)
        dump = tmp_path / "dump.sql"
        dump.write_bytes(b"".join(chunks))
        with fresh_postgres_database("pgpubhand") as by_hand:
            subprocess.run([*STOCK_PSQL, "-d", by_hand.database, "-f", str(dump)], check=True, stdout=DEVNULL)
            assert database_state(by_hand) == database_state(source)


OBJECTS_OF_NO_SCHEMA = """SELECT
    (SELECT array_agg(pubname ORDER BY pubname) FROM pg_publication),
    (SELECT array_agg(fdwname ORDER BY fdwname) FROM pg_foreign_data_wrapper),
    (SELECT array_agg(srvname ORDER BY srvname) FROM pg_foreign_server),
    (SELECT count(*) FROM pg_user_mappings),
    (SELECT array_agg(c ORDER BY c) FROM (
        SELECT format('%s->%s', castsource::regtype, casttarget::regtype) AS c FROM pg_cast WHERE oid >= 16384
     ) AS casts),
    (SELECT array_agg(e ORDER BY e) FROM (
        SELECT format('%s in %s', extname, extnamespace::regnamespace) AS e FROM pg_extension
     ) AS extensions),
    (SELECT array_agg(evtname ORDER BY evtname) FROM pg_event_trigger)"""


def _objects_of_no_schema(url: DatabaseURL) -> tuple[object, ...]:
    with connect(url) as conn:
        row = conn.execute(OBJECTS_OF_NO_SCHEMA).fetchone()
    assert row is not None
    return tuple(row)


def test_objects_of_no_schema_are_replaced_and_those_the_backup_lacks_go(tmp_path: Path) -> None:
    """Publications, wrappers, servers, casts, extensions outside the dropped schemas, event triggers:
    restoring over the database they are in used to fail with "already exists"."""
    with fresh_postgres_database("pgnoschema") as url:
        run_sql(
            url,
            """CREATE TABLE t (a int PRIMARY KEY); INSERT INTO t VALUES (1);
               CREATE PUBLICATION pub FOR ALL TABLES;
               CREATE FOREIGN DATA WRAPPER wrapper; CREATE SERVER far FOREIGN DATA WRAPPER wrapper;
               CREATE USER MAPPING FOR postgres SERVER far;
               CREATE CAST (bytea AS text) WITHOUT FUNCTION;
               CREATE EXTENSION citext;
               CREATE FUNCTION public.noted() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
               CREATE EVENT TRIGGER noted ON ddl_command_end EXECUTE FUNCTION public.noted();""",
        )
        before = database_state(url), _objects_of_no_schema(url)
        chunks, _ = dump_to_bytes(url)
        engine(url).restore(chunks)
        assert (database_state(url), _objects_of_no_schema(url)) == before

        run_sql(
            url,
            """CREATE PUBLICATION late FOR TABLE t; CREATE FOREIGN DATA WRAPPER late_wrapper;
               CREATE CAST (text AS bytea) WITHOUT FUNCTION;
               DROP EXTENSION citext CASCADE; CREATE EXTENSION citext SCHEMA pg_catalog;
               CREATE EXTENSION hstore SCHEMA pg_catalog;""",
        )
        engine(url).restore(chunks)
        assert (database_state(url), _objects_of_no_schema(url)) == before


def test_stock_psql_loads_our_dump_like_pg_dumps_own(checklist_database: DatabaseURL, tmp_path: Path) -> None:
    source = checklist_database
    ours = tmp_path / "ours.sql"
    ours.write_bytes(b"".join(dump_to_bytes(checklist_database)[0]))
    stock = tmp_path / "stock.sql"
    subprocess.run(
        ["/usr/bin/pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-f", str(stock), "-d", source.database],
        check=True,
    )
    with fresh_postgres_database("pgours") as from_ours, fresh_postgres_database("pgstock") as from_stock:
        for dump, target in ((ours, from_ours), (stock, from_stock)):
            subprocess.run([*STOCK_PSQL, "-d", target.database, "-f", str(dump)], check=True, stdout=DEVNULL)
        assert database_state(from_ours) == database_state(from_stock) == database_state(checklist_database)


def _pgserver_16_tools() -> Path:
    found = [tools for folder in candidate_folders() if (tools := tools_in(folder)) and tools.major == 16]
    if not found:
        pytest.fail("pgserver's PostgreSQL 16 tools are not installed in .venv")
    return found[0].folder


def test_a_dump_by_pg_dump_16_restores_into_the_15_server(checklist_database: DatabaseURL) -> None:
    newer = PostgresEngine(checklist_database, DumpOptions(), tools_dir=_pgserver_16_tools())
    report = DumpReport()
    chunks = list(newer.dump(report))
    assert b"Dumped by pg_dump version 16.2" in b"".join(chunks)
    assert report.tables == EXPECTED_ROWS
    with fresh_postgres_database("pgdst") as target:
        engine(target).restore(chunks)
        assert database_state(target) == database_state(checklist_database)


@pytest.mark.parametrize("socket", ["/var/run/postgresql", "/var/run/postgresql/.s.PGSQL.5432"])
def test_a_unix_socket_folder_like_cloud_sqls_is_used(checklist_database: DatabaseURL, socket: str) -> None:
    socket_url = replace(checklist_database, host="nowhere.invalid", unix_socket=socket)
    assert dump_to_bytes(socket_url)[1].tables == EXPECTED_ROWS


def test_an_empty_database_dumps_and_restores() -> None:
    with fresh_postgres_database("pgempty") as source, fresh_postgres_database("pgdst") as target:
        chunks, report = dump_to_bytes(source)
        assert report.tables == {}
        run_sql(target, "CREATE TABLE leftover (a int)")
        engine(target).restore(chunks)
        assert database_state(target) == database_state(source)


@pytest.fixture()
def database_owned_by_a_plain_role() -> Iterator[DatabaseURL]:
    """Like Cloud SQL: the restoring user owns the database but is no superuser."""
    role = f"owner_{uuid.uuid4().hex[:8]}"
    with fresh_postgres_database("pgowned") as target:
        run_sql(replace(target, database="postgres"), f"CREATE ROLE {role} LOGIN")
        run_sql(replace(target, database="postgres"), f'ALTER DATABASE "{target.database}" OWNER TO {role}')
        try:
            yield replace(target, user=role)
        finally:
            run_sql(target, f"REASSIGN OWNED BY {role} TO postgres; DROP OWNED BY {role}")
            run_sql(replace(target, database="postgres"), f"DROP ROLE {role}")


def test_a_database_owner_without_superuser_can_restore(
    checklist_database: DatabaseURL, database_owned_by_a_plain_role: DatabaseURL
) -> None:
    chunks, _ = dump_to_bytes(checklist_database)
    engine(database_owned_by_a_plain_role).restore(chunks)
    engine(database_owned_by_a_plain_role).restore(chunks)
    restored = replace(database_owned_by_a_plain_role, user="postgres")
    assert database_state(restored) == database_state(checklist_database)
    _, report = dump_to_bytes(database_owned_by_a_plain_role)
    assert report.tables == EXPECTED_ROWS
