"""One consistent snapshot of a database, open on one connection or shared by several.

InnoDB has no way to hand one transaction's snapshot to another connection, but snapshots started
while nobody can change the tables see the same data. So for several readers, a separate connection
takes `LOCK TABLES ... READ` on the database's tables (waiting at most LOCK_WAIT_SECONDS), every
reader starts its snapshot, and the lock goes at once: writers wait a few milliseconds. When the lock
cannot be had (no LOCK TABLES privilege, a long write transaction holding the tables, anything else)
the dump reads through one connection and takes no lock at all, exactly like
`mysqldump --single-transaction`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import pymysql

from shared.dburl import DatabaseURL
from shared.engines.base import DUMP_LOCK_WAIT_SECONDS
from shared.engines.mysql.connection import Connection, connect, same_tls_as
from shared.engines.mysql.schema import text
from shared.engines.mysql.value_formats import quote_identifier

LOCK_WAIT_SECONDS = 1
LOCKABLE_KINDS = ("BASE TABLE", "SYSTEM VERSIONED", "SEQUENCE")
SNAPSHOT_STATEMENTS = (
    "SET SESSION sql_mode=''",
    "SET time_zone='+00:00'",
    # The server drops a reader that stalls past net_write_timeout (60 s by default), and a
    # storage upload may pause that long while it retries.
    "SET SESSION net_write_timeout=1800",
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "START TRANSACTION WITH CONSISTENT SNAPSHOT",
    "SAVEPOINT dump_table",  # before reading anything: later it may be refused
)


@dataclass
class Readers:
    """The dump's main connection, and the extra ones that share its snapshot (possibly none)."""

    main: Connection
    extra: list[Connection] = field(default_factory=list)
    shared_tables: frozenset[str] = frozenset()
    """The tables that were locked while the snapshots began: only these may be read by several readers."""

    def close(self) -> None:
        for connection in (self.main, *self.extra):
            close_quietly(connection)


def open_readers(url: DatabaseURL, count: int, lock_wait_seconds: int = DUMP_LOCK_WAIT_SECONDS) -> Readers:
    """`count` connections in one snapshot of `url`'s database, or just one if that cannot be arranged.
    Each waits at most `lock_wait_seconds` for a table another session holds."""
    main = connect(url)
    readers = Readers(main)
    try:
        if count > 1:
            _add_extra_readers(url, readers, count - 1, lock_wait_seconds)
        if not readers.extra:
            begin_snapshot(main, lock_wait_seconds)
    except BaseException:
        readers.close()
        raise
    return readers


def begin_snapshot(connection: Connection, lock_wait_seconds: int) -> None:
    cursor = connection.cursor()
    cursor.execute(f"SET SESSION lock_wait_timeout = {int(lock_wait_seconds)}")
    for statement in SNAPSHOT_STATEMENTS:
        cursor.execute(statement)


def _add_extra_readers(url: DatabaseURL, readers: Readers, count: int, lock_wait_seconds: int) -> None:
    connections = _more_connections(url, count + 1, same_tls_as(readers.main))
    if not connections:
        return
    locker, *extra = connections
    try:
        tables = _lockable_tables(locker, url.database)
        try:
            _lock(locker, url.database, tables)
        except pymysql.MySQLError:
            pass  # no LOCK TABLES privilege, a long write transaction...: one reader, no lock
        else:
            readers.extra = extra
            for connection in (readers.main, *extra):
                begin_snapshot(connection, lock_wait_seconds)
            locker.cursor().execute("UNLOCK TABLES")
            readers.shared_tables = frozenset(tables)
    finally:
        close_quietly(locker)
        if not readers.extra:
            for connection in extra:
                close_quietly(connection)


def _more_connections(url: DatabaseURL, count: int, tls: dict[str, Any]) -> list[Connection]:
    """Up to `count` new connections, as many as the server allows; none (and none left open) if under two.

    A lock holder and one extra reader are the least worth having, so a user capped on connections
    still gets as many readers as its cap leaves room for. `tls`: as the main connection's (`same_tls_as`).
    """
    opened: list[Connection] = []
    with contextlib.suppress(pymysql.MySQLError):
        for _ in range(count):
            opened.append(connect(url, tls))
    if len(opened) < 2:
        for connection in opened:
            close_quietly(connection)
        return []
    return opened


def _lockable_tables(connection: Connection, database: str) -> list[str]:
    cursor = connection.cursor()
    cursor.execute(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE IN %s",
        (database, LOCKABLE_KINDS),
    )
    return [text(name) for (name,) in cursor.fetchall()]


def _lock(connection: Connection, database: str, tables: list[str]) -> None:
    if not tables:
        return
    cursor = connection.cursor()
    cursor.execute(f"SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}")
    qualified = (f"{quote_identifier(database)}.{quote_identifier(table)} READ" for table in tables)
    cursor.execute("LOCK TABLES " + ", ".join(qualified))


def close_quietly(connection: Connection) -> None:
    with contextlib.suppress(pymysql.MySQLError, OSError):  # already broken
        connection.close()
