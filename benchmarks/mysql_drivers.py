"""Measure MySQL drivers reading server-formatted dump rows: python -m benchmarks.mysql_drivers [MB]."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable
from typing import cast

import mysql.connector
import pymysql
import pymysql.cursors

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql.dumper import MySQLDumper
from shared.engines.mysql.schema import list_tables
from shared.engines.mysql.value_formats import row_select

HOST, PORT, USER = "127.0.0.1", 3306, "root"
ROW_BYTES = 330  # about what one formatted row of the table below takes


def build(database: str, megabytes: int) -> str:
    """A mixed-type table whose formatted rows add up to about `megabytes`; returns its dump SELECT."""
    conn = pymysql.connect(host=HOST, port=PORT, user=USER, autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{database}`")
        cursor.execute(
            f"CREATE TABLE `{database}`.mixed (id INT PRIMARY KEY, amount DECIMAL(12,2), ratio DOUBLE, "
            "label VARCHAR(100), note TEXT, born DATETIME(6), raw VARBINARY(32), flag BIT(1))"
        )
        cursor.execute(
            f"INSERT INTO `{database}`.mixed SELECT seq, seq / 7, RAND(seq), CONCAT('label ', seq, ' ü'), "
            "REPEAT(CONCAT('it''s ', seq, ' '), 12), NOW(6) - INTERVAL seq SECOND, UNHEX(MD5(seq)), seq % 2 "
            f"FROM seq_1_to_{megabytes * (1 << 20) // ROW_BYTES}"
        )
        columns = list_tables(cursor, database)[0].columns
    conn.close()
    return row_select(database, "mixed", columns)


def with_pymysql(database: str, query: str) -> int:
    conn = pymysql.connect(
        host=HOST, port=PORT, user=USER, database=database, charset="utf8mb4", use_unicode=False
    )
    total = 0
    with conn.cursor(pymysql.cursors.SSCursor) as cursor:
        cursor.execute(query)
        while rows := cursor.fetchmany(1000):
            total += sum(len(row[0]) for row in rows)
    conn.close()
    return total


def with_connector(database: str, query: str) -> int:
    conn = mysql.connector.connect(host=HOST, port=PORT, user=USER, database=database, charset="utf8mb4")
    total = 0
    cursor = conn.cursor(raw=True)
    cursor.execute(query)
    while rows := cursor.fetchmany(1000):
        total += sum(len(row[0]) for row in cast(list[tuple[bytes]], rows))
    cursor.close()
    conn.close()
    return total


def with_our_dumper(database: str, _query: str) -> int:
    url = DatabaseURL(engine="mysql", database=database, user=USER, host=HOST, port=PORT)
    return sum(len(chunk) for chunk in MySQLDumper(url, DumpOptions()).chunks(DumpReport()))


def measure(name: str, read: Callable[[str, str], int], database: str, query: str) -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    total = read(database, query)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"{name:<40} {total / 1e6:6.1f} MB {elapsed:6.2f} s {total / 1e6 / elapsed:6.1f} MB/s"
        f"  client CPU {cpu:5.2f} s"
    )


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    database = f"bench_{uuid.uuid4().hex[:10]}"
    try:
        query = build(database, megabytes)
    except BaseException:
        drop(database)
        raise
    print(
        f"mysql.connector {mysql.connector.__version__} HAVE_CEXT={mysql.connector.HAVE_CEXT}; "
        f"PyMySQL {pymysql.__version__}"
    )
    try:
        for _ in range(2):
            measure("PyMySQL SSCursor (pure Python)", with_pymysql, database, query)
            measure("mysql-connector-python unbuffered raw", with_connector, database, query)
            measure("our MySQLDumper end to end (PyMySQL)", with_our_dumper, database, query)
    finally:
        drop(database)


def drop(database: str) -> None:
    conn = pymysql.connect(host=HOST, port=PORT, user=USER, autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
    conn.close()


if __name__ == "__main__":
    main()
