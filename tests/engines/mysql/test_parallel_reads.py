"""Large tables are read by several connections that share one snapshot; without the lock, by one."""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
import time
from collections.abc import Generator

import pymysql
import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from shared.engines.mysql.connection import connect
from shared.engines.mysql.parallel_reads import MAX_SPANS_BY_KEYS, key_spans
from shared.engines.mysql.schema import list_tables
from shared.engines.mysql.snapshot import open_readers
from tests.databases import MYSQL_HOST, MYSQL_PORT, fresh_mysql_database, limited_user, mysql_admin
from tests.engines.mysql.inventory import connection, execute_script, inventory

ROWS = 150_000
"""About 40 MB of InnoDB data: several key spans, so every reader reads part of the table."""
BALANCE = 100
OTHER_CONNECTIONS = (
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()"
)


def make_accounts(url: DatabaseURL) -> None:
    execute_script(
        url,
        [
            "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, pad CHAR(200) NOT NULL)",
            f"INSERT INTO accounts SELECT seq, {BALANCE}, REPEAT('p', 200) FROM seq_1_to_{ROWS}",
            "ANALYZE TABLE accounts",
        ],
    )


class Transfers(threading.Thread):
    """Moves money between a low and a high key, one committed transaction at a time, until stopped."""

    def __init__(self, url: DatabaseURL) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stopped = threading.Event()
        self.commits = 0

    def run(self) -> None:
        picker = random.Random(7)
        conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", database=self.url.database)
        try:
            with conn.cursor() as cursor:
                while not self.stopped.is_set():
                    low, high = picker.randint(1, ROWS // 4), picker.randint(3 * ROWS // 4, ROWS)
                    cursor.execute("UPDATE accounts SET balance = balance - 7 WHERE id = %s", (low,))
                    cursor.execute("UPDATE accounts SET balance = balance + 7 WHERE id = %s", (high,))
                    conn.commit()
                    self.commits += 1
        finally:
            conn.close()


def total_balance(url: DatabaseURL) -> tuple[int, int]:
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), SUM(balance) FROM accounts")
        count, total = cursor.fetchone()
        return int(count), int(total)


def test_the_readers_see_one_moment_while_transfers_commit() -> None:
    with fresh_mysql_database("pr") as url, fresh_mysql_database("prr") as target:
        make_accounts(url)
        transfers = Transfers(url)
        transfers.start()
        try:
            while transfers.commits < 20:
                time.sleep(0.01)
            report = DumpReport()
            chunks = []
            for chunk in MySQLEngine(url).dump(report):
                chunks.append(chunk)
                time.sleep(0.01)  # let transfers commit while the table is being read
            commits_during_dump = transfers.commits
        finally:
            transfers.stopped.set()
            transfers.join()
        assert report.readers == DumpOptions().mysql_readers > 1
        assert report.tables == {"accounts": ROWS}
        assert commits_during_dump > 40
        MySQLEngine(target).restore(chunks)
        assert total_balance(target) == (ROWS, ROWS * BALANCE)


def test_an_open_write_transaction_makes_the_dump_read_alone_without_waiting_for_it() -> None:
    with fresh_mysql_database("pw") as url:
        make_accounts(url)
        writer = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", database=url.database)
        try:
            with writer.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("UPDATE accounts SET balance = 0 WHERE id = 1")  # holds the table until commit
            report = DumpReport()
            started = time.monotonic()
            data = b"".join(MySQLEngine(url).dump(report))
            elapsed = time.monotonic() - started
        finally:
            writer.rollback()
            writer.close()
        assert report.readers == 1
        assert report.tables == {"accounts": ROWS}
        assert elapsed < 60
        with fresh_mysql_database("pwr") as target:
            MySQLEngine(target).restore([data])
            assert total_balance(target) == (ROWS, ROWS * BALANCE)  # the uncommitted update is not in it


def test_a_user_without_lock_tables_dumps_through_one_connection() -> None:
    with fresh_mysql_database("pl") as url:
        make_accounts(url)
        grants = [f"SELECT, SHOW VIEW, TRIGGER, EVENT ON `{url.database}`.*", "SELECT ON `mysql`.`proc`"]
        with limited_user(url.database, grants) as (user, password):
            limited = dataclasses.replace(url, user=user, password=password)
            report = DumpReport()
            data = b"".join(MySQLEngine(limited).dump(report))
        assert report.readers == 1
        with fresh_mysql_database("plr") as target:
            MySQLEngine(target).restore([data])
            assert inventory(target) == inventory(url)


@pytest.mark.parametrize(
    ("connections_allowed", "readers"),
    [
        (2, 1),  # the dump and a lock holder: no room for a second reader, so no lock and one reader
        (3, 2),  # three readers and the lock holder would be four: two readers
    ],
)
def test_a_user_capped_on_connections_gets_as_many_readers_as_it_can_open(
    connections_allowed: int, readers: int
) -> None:
    with fresh_mysql_database("pc") as url:
        make_accounts(url)
        grants = [
            f"SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{url.database}`.*",
            "SELECT ON `mysql`.`proc`",
        ]
        with limited_user(url.database, grants) as (user, password):
            with mysql_admin() as admin, admin.cursor() as cursor:
                cursor.execute(f"ALTER USER '{user}'@'%' WITH MAX_USER_CONNECTIONS {connections_allowed}")
            report = DumpReport()
            limited = dataclasses.replace(url, user=user, password=password)
            data = b"".join(MySQLEngine(limited, DumpOptions(mysql_readers=3)).dump(report))
        assert report.readers == readers and report.tables == {"accounts": ROWS}
        with fresh_mysql_database("pcr") as target:
            MySQLEngine(target).restore([data])
            assert total_balance(target) == (ROWS, ROWS * BALANCE)


def test_key_spans_tile_the_keys_even_when_the_size_estimate_is_small() -> None:
    with fresh_mysql_database("ps") as url:
        execute_script(
            url,
            [
                "CREATE TABLE narrow (id INT PRIMARY KEY)",  # ~1.5 MB: below one span by size
                "INSERT INTO narrow SELECT seq FROM seq_1_to_40000",
                "CREATE TABLE sparse (id BIGINT PRIMARY KEY)",
                "INSERT INTO sparse VALUES (1), (5000000000)",
                "ANALYZE TABLE narrow, sparse",
            ],
        )
        conn = connect(url)
        try:
            tables = {table.name: table for table in list_tables(conn.cursor(), url.database)}
            narrow = key_spans(conn.cursor(), url.database, tables["narrow"], "id", readers=2)
            alone = key_spans(conn.cursor(), url.database, tables["narrow"], "id", readers=1)
            sparse = key_spans(conn.cursor(), url.database, tables["sparse"], "id", readers=2)
        finally:
            conn.close()
        assert narrow == [(1, 20001), (20001, None)]
        assert alone == [(1, None)]
        assert len(sparse) == MAX_SPANS_BY_KEYS and sparse[0][0] == 1 and sparse[-1][1] is None
        assert all(stop == following[0] for (_, stop), following in itertools.pairwise(sparse))


def test_the_extra_readers_repeat_the_main_connections_tls_choice_instead_of_preparing_their_own() -> None:
    """This server offers no TLS, so the extra connections are opened without it: preparing a TLS context
    reads the system's CA bundle (~30 ms per connection, a third of a small database's dump)."""
    with fresh_mysql_database("pt") as url:
        make_accounts(url)
        readers = open_readers(url, 3)
        try:
            assert len(readers.extra) == 2
            assert readers.main.ssl  # PyMySQL's default: ready to use TLS, had the server offered it
            assert not any(extra.ssl for extra in readers.extra)
        finally:
            readers.close()


def test_one_reader_when_asked_for() -> None:
    with fresh_mysql_database("po") as url:
        make_accounts(url)
        report = DumpReport()
        b"".join(MySQLEngine(url, DumpOptions(mysql_readers=1)).dump(report))
        assert report.readers == 1 and report.tables == {"accounts": ROWS}


def test_a_dump_abandoned_mid_table_stops_its_readers_and_closes_their_connections() -> None:
    with fresh_mysql_database("pa") as url:
        make_accounts(url)
        chunks = MySQLEngine(url).dump(DumpReport())
        assert isinstance(chunks, Generator)
        next(chunks)
        next(chunks)
        with mysql_admin() as admin, admin.cursor() as cursor:
            cursor.execute(OTHER_CONNECTIONS, (url.database,))
            assert cursor.fetchone()[0] == DumpOptions().mysql_readers
        chunks.close()
        deadline = time.monotonic() + 10
        with mysql_admin() as admin, admin.cursor() as cursor:
            while True:
                cursor.execute(OTHER_CONNECTIONS, (url.database,))
                if cursor.fetchone()[0] == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            cursor.execute(OTHER_CONNECTIONS, (url.database,))
            assert cursor.fetchone()[0] == 0
        assert not [thread for thread in threading.enumerate() if thread.name.startswith("mysql-reader")]
