"""A session that read a table and keeps its transaction open, as an idle application connection does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from shared.dburl import DatabaseURL
from tests.sample_data import mysql_connect

APPLICATION = "the-shop-app"
"""The PostgreSQL session's application_name."""


@contextmanager
def transaction_reading(url: DatabaseURL, table: str) -> Iterator[int]:
    """Read `table` in a transaction held open until the block ends; yields the session's id."""
    if url.engine == "mysql":
        mysql = mysql_connect(url)
        try:
            with mysql.cursor() as cursor:
                cursor.execute("START TRANSACTION")
                cursor.execute(f"SELECT * FROM `{table}`")
                cursor.fetchall()
            yield mysql.thread_id()
        finally:
            mysql.close()
        return
    postgres = psycopg.connect(
        host=url.unix_socket or url.host,
        port=url.port,
        user=url.user,
        dbname=url.database,
        application_name=APPLICATION,
    )
    try:
        postgres.execute(f'SELECT * FROM "{table}"').fetchall()  # psycopg opened the transaction
        yield postgres.info.backend_pid
    finally:
        postgres.close()  # no commit: the session may have been ended meanwhile
