"""Throwaway databases on the local MariaDB and PostgreSQL servers, one unique name per use."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pymysql

from shared.dburl import DatabaseURL

MYSQL_HOST = os.environ.get("TEST_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("TEST_MYSQL_PORT", "3306"))
POSTGRES_HOST = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("TEST_POSTGRES_PORT", "5432"))


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def mysql_admin() -> pymysql.connections.Connection:
    return pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)


def postgres_admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", dbname="postgres", autocommit=True
    )


@contextmanager
def fresh_mysql_database(prefix: str = "t") -> Iterator[DatabaseURL]:
    """An empty utf8mb4 database, dropped afterwards."""
    name = unique_name(prefix)
    with mysql_admin() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield DatabaseURL(engine="mysql", database=name, user="root", host=MYSQL_HOST, port=MYSQL_PORT)
    finally:
        with mysql_admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def limited_user(database: str, grants: list[str]) -> Iterator[tuple[str, str]]:
    """A throwaway user with only `grants` (each e.g. 'SELECT ON `db`.`t`'), dropped afterwards."""
    user, password = unique_name("u"), "S3cret-" + unique_name("p")
    with mysql_admin() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        for grant in grants:
            cursor.execute(f"GRANT {grant} TO '{user}'@'%'")
    try:
        yield user, password
    finally:
        with mysql_admin() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")


@contextmanager
def fresh_postgres_database(prefix: str = "t") -> Iterator[DatabaseURL]:
    """An empty UTF8 database, dropped afterwards (its connections are ended first)."""
    name = unique_name(prefix)
    with postgres_admin() as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    try:
        yield DatabaseURL(
            engine="postgresql", database=name, user="postgres", host=POSTGRES_HOST, port=POSTGRES_PORT
        )
    finally:
        with postgres_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
