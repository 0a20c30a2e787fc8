"""Another session in the way: one that read a table and keeps its transaction open, as an idle application
connection does, or one that holds a MySQL table lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from shared.dburl import DatabaseURL
from tests.databases import fresh_postgres_database
from tests.sample_data import mysql_connect

APPLICATION = "the-shop-app"
"""The PostgreSQL session's application_name."""


@contextmanager
def postgres_database_with_held_table(prefix: str) -> Iterator[DatabaseURL]:
    """A fresh PostgreSQL database with a small table `held`, for another session to hold."""
    with fresh_postgres_database(prefix) as url:
        with psycopg.connect(
            host=url.host, port=url.port, user=url.user, dbname=url.database, autocommit=True
        ) as connection:
            connection.execute("CREATE TABLE held (id integer PRIMARY KEY); INSERT INTO held VALUES (1), (2)")
        yield url  # with no connection of its own left open


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


@contextmanager
def table_locked(url: DatabaseURL, table: str, mode: str = "WRITE") -> Iterator[None]:
    """`LOCK TABLES <table> <mode>` (MySQL) in a session of its own until the block ends: under WRITE a dump
    waits to read the table, under READ a restore waits to drop it."""
    connection = mysql_connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLES `{table}` {mode}")
        yield
    finally:
        connection.close()
