"""A small, typed sample schema for service tests, a fingerprint that tells whether data changed, and a dump
that fails half-way."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import psycopg
import pymysql

from shared.dburl import DatabaseURL

_MYSQL_SCHEMA = [
    "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT NULL)",
    "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2),"
    " FOREIGN KEY (customer_id) REFERENCES customers(id))",
    "CREATE VIEW order_totals AS SELECT customer_id, SUM(total) AS spent FROM orders GROUP BY customer_id",
]
_POSTGRES_SCHEMA = [
    "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, note text NULL)",
    "CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id),"
    " total numeric(10,2))",
    "CREATE VIEW order_totals AS SELECT customer_id, SUM(total) AS spent FROM orders GROUP BY customer_id",
]


def mysql_connect(url: DatabaseURL) -> pymysql.connections.Connection:
    return pymysql.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=url.password,
        database=url.database,
        autocommit=True,
    )


def postgres_connect(url: DatabaseURL) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=url.unix_socket or url.host, port=url.port, user=url.user, dbname=url.database, autocommit=True
    )


def execute(url: DatabaseURL, statements: list[str]) -> None:
    if url.engine == "mysql":
        with mysql_connect(url) as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    else:
        with postgres_connect(url) as conn:
            for statement in statements:
                conn.execute(statement)


def load_sample(url: DatabaseURL, customers: int = 20, note: str = "first") -> None:
    schema = _MYSQL_SCHEMA if url.engine == "mysql" else _POSTGRES_SCHEMA
    rows = [
        f"INSERT INTO customers (name, note) VALUES ('Customer {n}', {'NULL' if n % 5 == 0 else repr(note)})"
        for n in range(1, customers + 1)
    ]
    orders = [
        f"INSERT INTO orders (customer_id, total) VALUES ({1 + n % customers}, {n * 3}.25)"
        for n in range(customers * 3)
    ]
    execute(url, schema + rows + orders)


def fingerprint(url: DatabaseURL) -> str:
    """A hash of every user table's rows and the list of tables and views (order-independent)."""
    digest = hashlib.sha256()
    if url.engine == "mysql":
        with mysql_connect(url) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_schema = DATABASE() "
                "ORDER BY table_name"
            )
            objects = cur.fetchall()
            for name, kind in objects:
                digest.update(f"{name}:{kind};".encode())
                if kind == "BASE TABLE":
                    cur.execute(f"SELECT * FROM `{name}` ORDER BY 1")
                    digest.update(repr(cur.fetchall()).encode())
    else:
        with postgres_connect(url) as conn:
            objects = conn.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' "
                "ORDER BY table_name"
            ).fetchall()
            for name, kind in objects:
                digest.update(f"{name}:{kind};".encode())
                if kind == "BASE TABLE":
                    rows = conn.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
                    digest.update(repr(rows).encode())
    return digest.hexdigest()


ROWS_OVER_SEVERAL_CHUNKS = 60_000
"""Rows of random hex that make a stored file of several read chunks, so a restore reads more than once."""


def add_incompressible_rows(url: DatabaseURL, rows: int = ROWS_OVER_SEVERAL_CHUNKS) -> None:
    """Add a table `noise` of random hex, so the stored file takes several reads."""
    if url.engine == "mysql":
        fill = f"INSERT INTO noise SELECT seq, SHA2(RAND(), 256) FROM seq_1_to_{rows}"
    else:
        fill = (
            "INSERT INTO noise SELECT n, encode(sha256(random()::text::bytea), 'hex') "
            f"FROM generate_series(1, {rows}) AS n"
        )
    execute(url, ["CREATE TABLE noise (id INT PRIMARY KEY, hex CHAR(64))", fill])


def broken_dump(url: DatabaseURL, tmp_path: Path) -> Path:
    """A dump whose header is right and that fails half-way, after it has already changed things."""
    if url.engine == "mysql":
        sql = (
            "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n"
            "DROP TABLE IF EXISTS `orders`;\n"
            "CREATE TABLE `orders` (`id` int PRIMARY KEY);\n"
            "INSERT INTO `orders` VALUES (1),(2);\n"
            "INSERT INTO `no_such_table` VALUES (1);\n"
            "-- Dump completed\n"
        )
    else:
        sql = (
            "-- PostgreSQL database dump\n"
            "CREATE TABLE public.orders (id int PRIMARY KEY);\n"
            "INSERT INTO public.orders VALUES (1), (2);\n"
            "INSERT INTO public.no_such_table VALUES (1);\n"
            "-- PostgreSQL database dump complete\n"
        )
    path = tmp_path / "broken.sql.gz"
    path.write_bytes(gzip.compress(sql.encode()))
    return path
