"""A dump that cannot be complete raises DumpError with a clear message; it never ends short."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Generator

import pymysql
import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from shared.engines.mysql.restorer import MySQLRestorer
from shared.errors import DumpError, RestoreError
from tests.databases import fresh_mysql_database, limited_user, mysql_admin
from tests.engines.mysql.inventory import execute_script

LOCAL_SOCKET = os.environ.get("TEST_MYSQL_SOCKET", "/run/mysqld/mysqld.sock")
DUMP_QUERY_ID = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE 'SELECT CONCAT(%%'"
DUMP_CONNECTION_ID = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()"


def dump_all(url: DatabaseURL, options: DumpOptions | None = None) -> bytes:
    return b"".join(MySQLEngine(url, options or DumpOptions()).dump(DumpReport()))


def test_wrong_password_names_the_user_and_hides_the_password() -> None:
    with (
        fresh_mysql_database("fp") as url,
        limited_user(url.database, [f"SELECT ON `{url.database}`.*"]) as (
            user,
            password,
        ),
    ):
        wrong = dataclasses.replace(url, user=user, password="not-" + password)
        for action in (lambda: dump_all(wrong), MySQLEngine(wrong).check_connection):
            with pytest.raises(DumpError, match=f"access denied for user '{user}'") as caught:
                action()
            assert password not in str(caught.value) and "not-" not in str(caught.value)
        with pytest.raises(RestoreError, match="access denied"):
            MySQLEngine(wrong).restore([b"SELECT 1;"])


def test_missing_database() -> None:
    with fresh_mysql_database("fm") as url:
        missing = url.with_database(url.database + "_missing")
        with pytest.raises(DumpError, match=f"no database '{missing.database}'"):
            dump_all(missing)
        with pytest.raises(DumpError, match="no database"):
            MySQLEngine(missing).check_connection()


def test_table_without_select_privilege_fails_the_dump() -> None:
    with fresh_mysql_database("ft") as url:
        execute_script(url, ["CREATE TABLE readable (id INT)", "CREATE TABLE hidden (id INT)"])
        grants = [f"SELECT ON `{url.database}`.`readable`", f"INSERT ON `{url.database}`.`hidden`"]
        with limited_user(url.database, grants) as (user, password):
            limited = dataclasses.replace(url, user=user, password=password)
            with pytest.raises(DumpError, match=rf"GRANT SELECT\b.* ON `{url.database}`\.\*") as caught:
                dump_all(limited)
            assert password not in str(caught.value)


def test_routine_without_privilege_to_read_its_body_fails_the_dump() -> None:
    with fresh_mysql_database("fr") as url:
        execute_script(url, ["CREATE TABLE t (id INT)", "CREATE PROCEDURE p() SELECT 1"])
        # EXECUTE shows every routine of the database, but not a routine's body.
        grants = [f"SELECT, EXECUTE, TRIGGER, EVENT ON `{url.database}`.*"]
        with limited_user(url.database, grants) as (user, password):
            limited = dataclasses.replace(url, user=user, password=password)
            grant = r"GRANT SELECT ON `mysql`\.`proc`"
            with pytest.raises(DumpError, match=rf"no definition for procedure 'p'.* {grant}"):
                dump_all(limited)


def test_missing_trigger_privilege_fails_the_dump() -> None:
    """Nothing shows a table's triggers without TRIGGER: a backup without them would not be complete."""
    with fresh_mysql_database("fw") as url:
        execute_script(url, ["CREATE TABLE t (id INT)"])
        grants = [f"SELECT, EVENT ON `{url.database}`.*", "SELECT ON `mysql`.`proc`"]
        with limited_user(url.database, grants) as (user, password):
            limited = dataclasses.replace(url, user=user, password=password)
            with pytest.raises(DumpError, match=rf"GRANT TRIGGER ON `{url.database}`\.\* TO '{user}'@'%';$"):
                dump_all(limited)


@pytest.mark.parametrize("victim", ["first", "last"])
def test_connection_killed_mid_dump_raises(victim: str) -> None:
    """Any one of the dump's connections (the table is read by several) lost mid-table fails the dump."""
    with fresh_mysql_database("fk") as url:
        execute_script(
            url,
            [
                "CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(200))",
                "INSERT INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_200000",
                "ANALYZE TABLE big",
            ],
        )
        chunks = MySQLEngine(url).dump(DumpReport())
        assert isinstance(chunks, Generator)
        try:
            next(chunks)
            next(chunks)
            with mysql_admin() as conn, conn.cursor() as cursor:
                cursor.execute(DUMP_CONNECTION_ID + " ORDER BY ID", (url.database,))
                connections = [int(row[0]) for row in cursor.fetchall()]
                assert len(connections) == DumpOptions().mysql_readers > 1
                cursor.execute(f"KILL {connections[0 if victim == 'first' else -1]}")
            with pytest.raises(DumpError, match="failed"):
                for _ in chunks:
                    pass
        finally:
            chunks.close()  # a failed assertion must not leave the readers holding the database


def test_query_killed_mid_dump_raises() -> None:
    with fresh_mysql_database("fq") as url:
        execute_script(
            url,
            [
                # No primary key: the row-by-row read keeps one long query open to kill.
                "CREATE TABLE big (id INT, payload VARCHAR(200))",
                "INSERT INTO big SELECT seq, REPEAT('y', 200) FROM seq_1_to_200000",
            ],
        )
        chunks = MySQLEngine(url).dump(DumpReport())
        next(chunks)

        def kill_query() -> None:
            time.sleep(0.2)
            with mysql_admin() as conn, conn.cursor() as cursor:
                cursor.execute(
                    DUMP_QUERY_ID,
                    (url.database,),
                )
                row = cursor.fetchone()
                if row:
                    cursor.execute(f"KILL QUERY {int(row[0])}")

        killer = threading.Thread(target=kill_query)
        killer.start()
        try:
            with pytest.raises(DumpError):
                for _ in chunks:
                    time.sleep(0.05)
        finally:
            killer.join()


def test_restore_error_names_the_statement_and_the_server_message() -> None:
    with fresh_mysql_database("fe") as url:
        sql = b"CREATE TABLE ok (id INT);\nINSERT INTO missing_table VALUES (1);\n"
        with pytest.raises(
            RestoreError, match=r"statement 2 starting 'INSERT INTO missing_table.*doesn't exist"
        ):
            MySQLEngine(url).restore([sql])


def test_row_larger_than_max_allowed_packet_fails_loudly() -> None:
    with fresh_mysql_database("fl") as url:
        execute_script(
            url,
            [
                "CREATE TABLE huge (id INT PRIMARY KEY, payload LONGBLOB)",
                "INSERT INTO huge VALUES (1, 'small')",
                "INSERT INTO huge SELECT 2, REPEAT('z', @@max_allowed_packet DIV 2 + 1024)",
            ],
        )
        with pytest.raises(DumpError, match=r"Row 2 of table 'huge' is larger than max_allowed_packet"):
            dump_all(url)


def test_binary_log_function_error_names_the_setting() -> None:
    url = DatabaseURL(engine="mysql", database="d", user="u")
    server_error = pymysql.err.OperationalError(
        1418, "This function has none of DETERMINISTIC, NO SQL, or READS SQL DATA in its declaration"
    )
    statement = b"CREATE FUNCTION f() RETURNS INT RETURN 1"
    message = MySQLRestorer(url).describe_failure(3, statement, server_error)
    assert "statement 3 starting 'CREATE FUNCTION f()" in message
    assert "log_bin_trust_function_creators" in message


@pytest.mark.skipif(not os.path.exists(LOCAL_SOCKET), reason="the local server has no unix socket here")
def test_unix_socket_connection_dumps_and_restores() -> None:
    with fresh_mysql_database("fs") as url, fresh_mysql_database("fs2") as target:
        execute_script(url, ["CREATE TABLE t (id INT)", "INSERT INTO t VALUES (1), (2)"])
        over_socket = dataclasses.replace(url, unix_socket=LOCAL_SOCKET, host="localhost")
        report = DumpReport()
        data = b"".join(MySQLEngine(over_socket).dump(report))
        assert report.tables == {"t": 2}
        MySQLEngine(dataclasses.replace(target, unix_socket=LOCAL_SOCKET, host="localhost")).restore([data])
        with mysql_admin() as conn, conn.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM `{target.database}`.t")
            assert cursor.fetchone()[0] == 2


def test_restore_refuses_a_file_that_switches_database() -> None:
    with fresh_mysql_database("fu") as url:
        sql = b"CREATE TABLE a (id INT);\nUSE `other`;\nCREATE TABLE b (id INT);\n"
        with pytest.raises(RestoreError, match="Statement 2 switches or creates a database"):
            MySQLEngine(url).restore([sql])
