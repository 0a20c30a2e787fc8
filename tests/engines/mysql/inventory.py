"""What a MySQL database holds, in comparable form: table checksums, DDL and every other object."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pymysql

from shared.dburl import DatabaseURL


@contextmanager
def connection(url: DatabaseURL) -> Iterator[Any]:
    conn = pymysql.connect(
        host=url.host, port=url.port, user=url.user, password=url.password, database=url.database,
        charset="utf8mb4", autocommit=True,
    )  # fmt: skip
    try:
        yield conn
    finally:
        conn.close()


def execute_script(url: DatabaseURL, statements: list[str]) -> None:
    with connection(url) as conn, conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Inventory:
    checksums: dict[str, int | None]
    tables: dict[str, str]
    views: dict[str, str]
    routines: dict[tuple[str, str], str]
    triggers: list[tuple[str, ...]]
    events: dict[str, tuple[str, ...]]


def inventory(url: DatabaseURL) -> Inventory:
    """Everything a restore must reproduce (SHOW CREATE TABLE covers indexes, FKs and AUTO_INCREMENT)."""
    with connection(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            "ORDER BY TABLE_NAME"
        )
        listed = cursor.fetchall()
        checksums: dict[str, int | None] = {}
        tables: dict[str, str] = {}
        for name, kind in listed:
            if kind == "VIEW":
                continue
            # A sequence's SHOW CREATE TABLE (`… SEQUENCE=1`) leaves out its start, increment and bounds.
            cursor.execute(f"SHOW CREATE {'SEQUENCE' if kind == 'SEQUENCE' else 'TABLE'} {quote(name)}")
            tables[name] = cursor.fetchone()[1]
            if kind == "SEQUENCE":
                cursor.execute(f"SELECT * FROM {quote(name)}")  # its next value, bounds, increment, cache
                checksums[name] = hash(repr(cursor.fetchall()))
            elif kind == "SYSTEM VERSIONED":
                # CHECKSUM covers the row start/end times, which a restore sets anew: compare current rows.
                cursor.execute(f"SELECT * FROM {quote(name)} ORDER BY 1")
                checksums[name] = hash(repr(cursor.fetchall()))
            else:
                cursor.execute(f"CHECKSUM TABLE {quote(name)} EXTENDED")
                checksums[name] = cursor.fetchone()[1]
        cursor.execute(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()"
        )
        prefix = quote(url.database) + "."
        views = {name: definition.replace(prefix, "") for name, definition in cursor.fetchall()}
        cursor.execute(
            "SELECT ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION FROM information_schema.ROUTINES "
            "WHERE ROUTINE_SCHEMA = DATABASE()"
        )
        routines = {(kind, name): body for kind, name, body in cursor.fetchall()}
        cursor.execute(
            "SELECT EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, TRIGGER_NAME, "
            "ACTION_STATEMENT, SQL_MODE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
            "ORDER BY 1, 2, 3, 4"
        )
        triggers = [tuple(str(value) for value in row) for row in cursor.fetchall()]
        cursor.execute(
            "SELECT EVENT_NAME, EVENT_DEFINITION, STATUS, INTERVAL_VALUE, INTERVAL_FIELD, SQL_MODE "
            "FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()"
        )
        events = {row[0]: tuple(str(value) for value in row[1:]) for row in cursor.fetchall()}
    return Inventory(checksums, tables, views, routines, triggers, events)


def stock_client_load(url: DatabaseURL, sql: bytes) -> None:
    """Load SQL with the stock `mariadb` command-line client, as a person restoring by hand would."""
    result = subprocess.run(
        ["mariadb", f"--host={url.host}", f"--port={url.port}", f"--user={url.user}", url.database],
        input=sql,
        capture_output=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")


def stock_dump(url: DatabaseURL) -> bytes:
    """`mariadb-dump --single-transaction --routines --triggers --events` of the database."""
    result = subprocess.run(
        [
            "mariadb-dump", f"--host={url.host}", f"--port={url.port}", f"--user={url.user}",
            "--single-transaction", "--routines", "--triggers", "--events", "--hex-blob", url.database,
        ],
        capture_output=True,
        check=False,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout
