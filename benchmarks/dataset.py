"""Builds the mixed-type benchmark dataset server-side (INSERT … SELECT over a sequence), in batches."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pymysql

from benchmarks.servers import Server

BATCH_ROWS = 50_000


@dataclass(frozen=True)
class TableRecipe:
    """One table: its DDL and a row generator per engine, `{lo}`/`{hi}` being the id range of a batch."""

    name: str
    share: float
    """The part of the dataset's SQL size this table should take."""
    sql_bytes_per_row: int
    """About how many bytes of dump SQL one row takes (measured from our dumps)."""
    mysql_ddl: str
    mysql_fill: str
    postgres_ddl: str
    postgres_fill: str


EVENTS = TableRecipe(
    name="events",
    share=0.15,
    sql_bytes_per_row=52,
    mysql_ddl="CREATE TABLE events (id BIGINT PRIMARY KEY, user_id INT NOT NULL, kind SMALLINT, "
    "score FLOAT, happened_at DATETIME(3) NULL, ok BOOLEAN, KEY (user_id))",
    mysql_fill="INSERT INTO events SELECT seq, seq * 7 % 100003, seq % 17, RAND(seq) * 1000, "
    "IF(seq % 11 = 0, NULL, TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq * 37 SECOND), seq % 2 "
    "FROM seq_{lo}_to_{hi}",
    postgres_ddl="CREATE TABLE events (id bigint PRIMARY KEY, user_id integer NOT NULL, kind smallint, "
    "score real, happened_at timestamp(3) NULL, ok boolean); CREATE INDEX ON events (user_id)",
    postgres_fill="INSERT INTO events SELECT i, i * 7 % 100003, i % 17, random() * 1000, "
    "CASE WHEN i % 11 = 0 THEN NULL ELSE TIMESTAMP '2020-01-01' + i * INTERVAL '37 seconds' END, i % 2 = 1 "
    "FROM generate_series({lo}, {hi}) AS i",
)

ORDERS = TableRecipe(
    name="orders",
    share=0.35,
    sql_bytes_per_row=230,
    mysql_ddl="CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(100) NOT NULL, "
    "amount DECIMAL(12,2), ratio DOUBLE, note TEXT NULL, placed DATE, meta JSON, KEY (placed))",
    mysql_fill="INSERT INTO orders SELECT seq, CONCAT('Kunde Müller-', seq, ' 東京 ', LEFT(MD5(seq), 8)), "
    "(seq % 100000) / 100 + 0.01, RAND(seq + 1), "
    "IF(seq % 5 = 0, NULL, "
    "CONCAT('note ', MD5(seq * 3), ' naïve café «', seq, '»\\n\"quoted\" \\\\ it''s')), "
    "DATE '2000-01-01' + INTERVAL seq % 9000 DAY, "
    "JSON_OBJECT('id', seq, 'tags', JSON_ARRAY('α', 'β', seq % 10), 'vip', seq % 3 = 0, 'city', 'Zürich') "
    "FROM seq_{lo}_to_{hi}",
    postgres_ddl="CREATE TABLE orders (id bigint PRIMARY KEY, customer varchar(100) NOT NULL, "
    "amount numeric(12,2), ratio double precision, note text NULL, placed date, meta jsonb); "
    "CREATE INDEX ON orders (placed)",
    postgres_fill="INSERT INTO orders SELECT i, 'Kunde Müller-' || i || ' 東京 ' || left(md5(i::text), 8), "
    "(i % 100000) / 100.0 + 0.01, random(), "
    "CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || md5((i * 3)::text) || ' naïve café «' || i "
    "|| E'»\\n\"quoted\" \\\\ it''s' END, "
    "DATE '2000-01-01' + i % 9000, "
    "jsonb_build_object('id', i, 'tags', jsonb_build_array('α', 'β', i % 10), 'vip', i % 3 = 0, "
    "'city', 'Zürich') "
    "FROM generate_series({lo}, {hi}) AS i",
)

DOCUMENTS = TableRecipe(
    name="documents",
    share=0.50,
    sql_bytes_per_row=1370,
    mysql_ddl="CREATE TABLE documents (id BIGINT PRIMARY KEY, title VARCHAR(200) NOT NULL, body MEDIUMTEXT, "
    "payload BLOB NULL, attrs JSON NULL, updated_at DATETIME(6))",
    mysql_fill="INSERT INTO documents SELECT seq, CONCAT('Dokument ', seq, ' — résumé ✓'), "
    "CONCAT(REPEAT(CONCAT(MD5(seq), ' ünïcödé ✓ ', SHA2(seq, 256), ' '), 6), SHA2(seq + 1, 512)), "
    "IF(seq % 10 = 0, NULL, CONCAT(UNHEX(SHA2(seq, 512)), UNHEX(SHA2(seq + 1, 512)), "
    "UNHEX(SHA2(seq + 2, 512)), UNHEX(SHA2(seq + 3, 512)))), "
    "IF(seq % 4 = 0, NULL, JSON_OBJECT('rev', seq % 97, 'lang', 'de', 'ok', TRUE)), "
    "TIMESTAMP '2024-01-01 00:00:00' - INTERVAL seq SECOND "
    "FROM seq_{lo}_to_{hi}",
    postgres_ddl="CREATE TABLE documents (id bigint PRIMARY KEY, title varchar(200) NOT NULL, body text, "
    "payload bytea NULL, attrs json NULL, updated_at timestamptz(6))",
    postgres_fill="INSERT INTO documents SELECT i, 'Dokument ' || i || ' — résumé ✓', "
    "repeat(md5(i::text) || ' ünïcödé ✓ ' || encode(sha256(int8send(i)), 'hex') || ' ', 6) "
    "|| encode(sha512(int8send(i + 1)), 'hex'), "
    "CASE WHEN i % 10 = 0 THEN NULL ELSE sha512(int8send(i)) || sha512(int8send(i + 1)) "
    "|| sha512(int8send(i + 2)) || sha512(int8send(i + 3)) END, "
    "CASE WHEN i % 4 = 0 THEN NULL ELSE json_build_object('rev', i % 97, 'lang', 'de', 'ok', true) END, "
    "TIMESTAMPTZ '2024-01-01 00:00:00+00' - i * INTERVAL '1 second' "
    "FROM generate_series({lo}, {hi}) AS i",
)

RECIPES = (EVENTS, ORDERS, DOCUMENTS)


def row_counts(size_mb: float) -> dict[str, int]:
    """Rows per table so that the dump's SQL comes to about `size_mb` megabytes (10^6 bytes)."""
    return {
        recipe.name: max(1, round(size_mb * 1e6 * recipe.share / recipe.sql_bytes_per_row))
        for recipe in RECIPES
    }


def build_dataset(server: Server, database: str, size_mb: float) -> dict[str, int]:
    """Create and fill the tables in `database`; returns the rows written per table."""
    counts = row_counts(size_mb)
    if server.engine == "mysql":
        _fill_mysql(server, database, counts)
    else:
        _fill_postgres(server, database, counts)
    return counts


def _batches(rows: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + BATCH_ROWS - 1, rows)) for lo in range(1, rows + 1, BATCH_ROWS)]


def _fill_mysql(server: Server, database: str, counts: dict[str, int]) -> None:
    connection = pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )
    try:
        with connection.cursor() as cursor:
            for recipe in RECIPES:
                cursor.execute(recipe.mysql_ddl)
                for lo, hi in _batches(counts[recipe.name]):
                    cursor.execute(recipe.mysql_fill.format(lo=lo, hi=hi))
    finally:
        connection.close()


def _fill_postgres(server: Server, database: str, counts: dict[str, int]) -> None:
    with psycopg.connect(
        host=server.host, port=server.port, user=server.user, dbname=database, autocommit=True
    ) as connection:
        for recipe in RECIPES:
            connection.execute(recipe.postgres_ddl.encode())
            for lo, hi in _batches(counts[recipe.name]):
                connection.execute(recipe.postgres_fill.format(lo=lo, hi=hi).encode())
        connection.execute(b"VACUUM ANALYZE")
