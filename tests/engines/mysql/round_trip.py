"""Dump a MySQL database with the engine and check that both our restore and the stock client load it back."""

from __future__ import annotations

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.mysql import MySQLEngine
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import connection, inventory, stock_client_load


def dump(url: DatabaseURL) -> tuple[bytes, DumpReport]:
    report = DumpReport()
    return b"".join(MySQLEngine(url, DumpOptions()).dump(report)), report


def restores_identically(url: DatabaseURL, data: bytes) -> None:
    with fresh_mysql_database("bt") as ours, fresh_mysql_database("bs") as stock:
        MySQLEngine(ours, DumpOptions()).restore([data])
        assert inventory(ours) == inventory(url)
        stock_client_load(stock, data)
        assert inventory(stock) == inventory(url)


def row_count(url: DatabaseURL, table: str) -> int:
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
        return int(cursor.fetchone()[0])
