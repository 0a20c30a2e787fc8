"""A dump or restore that needs a table another session holds waits a bounded time, then fails saying so.
A restore names the sessions holding locks, and changes nothing: PostgreSQL's is one transaction, and
MySQL's takes every table's lock before dropping any."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport, engine_for
from shared.engines.mysql.restorer import MySQLRestorer
from shared.engines.postgres.restorer import restore_stream
from shared.errors import DumpError, RestoreError
from tests.databases import fresh_mysql_database, limited_user
from tests.engines.postgres.database_state import connect, database_state, dump_to_bytes, run_sql
from tests.open_transactions import APPLICATION, postgres_database_with_held_table, transaction_reading
from tests.sample_data import execute, mysql_connect

WAIT_SECONDS = 1


@pytest.fixture
def postgres_database() -> Iterator[DatabaseURL]:
    with postgres_database_with_held_table("lockwait") as url:
        yield url


def test_a_postgres_restore_waits_a_bounded_time_for_a_held_table_and_names_the_holder(
    postgres_database: DatabaseURL,
) -> None:
    dump, _ = dump_to_bytes(postgres_database)
    run_sql(postgres_database, "INSERT INTO held VALUES (3)")  # the restore would take it away
    before = database_state(postgres_database)
    reading = transaction_reading(postgres_database, "held")
    with reading as holder_pid, pytest.raises(RestoreError) as raised:
        restore_stream(postgres_database, "the test database", dump, lock_wait_seconds=WAIT_SECONDS)
    message = str(raised.value)
    assert "lock timeout" in message and "left as it was" in message
    assert f"waited {WAIT_SECONDS} s for a lock another session holds" in message
    holder = f"session {holder_pid} (user 'postgres', application '{APPLICATION}', idle in transaction for "
    assert holder in message
    assert "SELECT" not in message, "another application's statements are never shown"
    assert database_state(postgres_database) == before


def test_a_postgres_restore_gets_the_lock_once_the_holder_ends_within_the_wait(
    postgres_database: DatabaseURL,
) -> None:
    dump, _ = dump_to_bytes(postgres_database)
    run_sql(postgres_database, "INSERT INTO held VALUES (3)")
    with transaction_reading(postgres_database, "held") as holder_pid:
        run_sql(postgres_database, f"SELECT pg_terminate_backend({holder_pid})")
        restore_stream(postgres_database, "the test database", dump, lock_wait_seconds=WAIT_SECONDS)
    with connect(postgres_database) as conn:
        assert conn.execute("SELECT count(*) FROM held").fetchone() == (2,)


def test_a_mysql_restore_waits_a_bounded_time_for_a_held_table_and_drops_nothing() -> None:
    with fresh_mysql_database("lockwait") as url:
        execute(
            url,
            [
                "CREATE TABLE free_table (id INT PRIMARY KEY)",
                "CREATE TABLE held (id INT PRIMARY KEY)",
                "INSERT INTO held VALUES (1), (2)",
                "CREATE VIEW held_view AS SELECT id FROM held",
            ],
        )
        restorer = MySQLRestorer(url, lock_wait_seconds=WAIT_SECONDS)
        with transaction_reading(url, "held") as holder_id, pytest.raises(RestoreError) as raised:
            restorer.restore([b"CREATE TABLE fresh (a INT);\n"])
        message = str(raised.value)
        assert "Could not lock the tables" in message and "Lock wait timeout exceeded" in message
        assert f"session {holder_id} (user 'root', sleep for " in message and "KILL" in message
        assert "SELECT" not in message.split("Sessions using the database")[1]
        assert "so nothing was dropped" in message and raised.value.database_unchanged
        assert _mysql_tables(url) == ["free_table", "held", "held_view"], "no table was dropped"


def test_a_mysql_user_who_may_not_lock_tables_still_restores() -> None:
    with fresh_mysql_database("nolock") as url:
        execute(url, ["CREATE TABLE old_table (id INT)", "CREATE VIEW old_view AS SELECT 1 AS one"])
        grants = [
            f"SELECT, INSERT, CREATE, DROP, CREATE VIEW, SHOW VIEW, TRIGGER, EVENT ON `{url.database}`.*",
            "SELECT ON `mysql`.`proc`",
        ]
        with limited_user(url.database, grants) as (user, password):
            # old_view names root as its DEFINER: only backups without DEFINERs could put it back.
            limited = MySQLRestorer(replace(url, user=user, password=password), definers_stripped=True)
            limited.restore([b"CREATE TABLE fresh (a INT);\n"])
        assert _mysql_tables(url) == ["fresh"]


def test_a_mysql_statement_that_waits_too_long_for_a_lock_says_so() -> None:
    with fresh_mysql_database("lockwait") as url, fresh_mysql_database("elsewhere") as elsewhere:
        execute(elsewhere, ["CREATE TABLE shared_table (id INT PRIMARY KEY)"])
        statement = f"ALTER TABLE `{elsewhere.database}`.shared_table ADD COLUMN note TEXT;\n"
        restorer = MySQLRestorer(url, lock_wait_seconds=WAIT_SECONDS)
        with transaction_reading(elsewhere, "shared_table"), pytest.raises(RestoreError) as raised:
            restorer.restore([statement.encode()])
        message = str(raised.value)
        assert "Restore failed at statement 1" in message and "Lock wait timeout exceeded" in message
        assert f"The restore waited {WAIT_SECONDS} s for a lock another session holds" in message


def test_a_mysql_dump_waits_a_bounded_time_for_a_table_locked_for_writing() -> None:
    with fresh_mysql_database("dumpwait") as url:
        execute(url, ["CREATE TABLE held (id INT PRIMARY KEY)", "INSERT INTO held VALUES (1)"])
        holder = mysql_connect(url)
        try:
            with holder.cursor() as cursor:
                cursor.execute("LOCK TABLES held WRITE")
            dumping = engine_for(url, DumpOptions(dump_lock_wait_seconds=WAIT_SECONDS))
            with pytest.raises(DumpError) as raised:
                b"".join(dumping.dump(DumpReport()))
        finally:
            holder.close()
    message = str(raised.value)
    assert "kept a table from being read" in message and "Lock wait timeout exceeded" in message
    assert "LOCK TABLES … WRITE, or DDL such as ALTER TABLE" in message


def test_a_postgres_dump_waits_a_bounded_time_for_a_table_locked_exclusively(
    postgres_database: DatabaseURL,
) -> None:
    with psycopg.connect(
        host=postgres_database.host, port=postgres_database.port, user=postgres_database.user,
        dbname=postgres_database.database,
    ) as holder:
        holder.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
        dumping = engine_for(postgres_database, DumpOptions(dump_lock_wait_seconds=WAIT_SECONDS))
        with pytest.raises(DumpError, match="Another session held a table exclusively") as raised:
            b"".join(dumping.dump(DumpReport()))
    assert f"FULL) longer than the dump waits ({WAIT_SECONDS} s)" in str(raised.value)


def _mysql_tables(url: DatabaseURL) -> list[str]:
    with mysql_connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW TABLES")
        return sorted(str(name) for (name,) in cursor.fetchall())
