"""Replace a MySQL/MariaDB database's contents with a dump: drop every object, then run the dump's statements.

Objects the backup does not have (tables, views, routines, triggers, events) do not survive a
restore. DDL commits implicitly in MySQL, so a restore is never one transaction: a failed restore
leaves the database partly loaded (the service's pre-restore backup is the way back).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pymysql

from shared.dburl import DatabaseURL
from shared.engines.base import RESTORE_LOCK_WAIT_SECONDS
from shared.engines.mysql.connection import connect, describe_connection_error, error_code, server_message
from shared.engines.mysql.lock_holders import lock_holders
from shared.engines.mysql.privileges import (
    current_account,
    grant_statements,
    hidden_from_user,
    missing_for_restore,
    missing_to_name_definers,
    reasons,
)
from shared.engines.mysql.schema import list_tables, text
from shared.engines.mysql.splitter import preview, split_statements
from shared.engines.mysql.value_formats import quote_identifier
from shared.errors import RestoreError
from shared.prefetch import prefetched

_LOCK_WAIT_TIMEOUT = 1205
_BINLOG_ROUTINE_ERRORS = (1418, 1419)
_NEEDS_SUPER = (1227, 1449)
_SWITCHES_DATABASE = re.compile(rb"(?:/\*!\d*\s*)?(?:USE\s|CREATE\s+(?:DATABASE|SCHEMA)\b)", re.IGNORECASE)


@dataclass(frozen=True)
class _Objects:
    tables: list[str]
    other_drops: list[str]
    """Views, then routines, then events."""
    kinds: set[str]
    """Those of `privileges.RESTORE_NEEDS` that there are."""


class MySQLRestorer:
    """Loads a dump (ours, `mysqldump`'s or `mariadb-dump`'s) into the URL's database. `definers_stripped`:
    the service's backups, the pre-restore one included, leave DEFINER clauses out (`strip_definers`)."""

    def __init__(
        self,
        url: DatabaseURL,
        lock_wait_seconds: int = RESTORE_LOCK_WAIT_SECONDS,
        *,
        definers_stripped: bool = False,
    ) -> None:
        self._url = url
        self._lock_wait_seconds = lock_wait_seconds
        self._definers_stripped = definers_stripped

    def restore(self, chunks: Iterable[bytes]) -> None:
        with self._session(f"Restore into {self._url.database!r}") as cursor:
            cursor.execute(f"SET SESSION lock_wait_timeout = {self._lock_wait_seconds}")
            self._drop_everything(cursor)
            # The splitter reads quotes as the server will (NO_BACKSLASH_ESCAPES, ANSI_QUOTES): from this
            # session's sql_mode until the dump sets another.
            cursor.execute("SELECT @@SESSION.sql_mode, @@GLOBAL.sql_mode")
            session_mode, global_mode = (text(value) for value in cursor.fetchone())
            statements = split_statements(iter(chunks), sql_mode=session_mode, global_sql_mode=global_mode)
            for number, statement in enumerate(prefetched(statements), start=1):
                if _SWITCHES_DATABASE.match(statement):
                    raise RestoreError(
                        f"Statement {number} switches or creates a database ({preview(statement, 80)}): "
                        "the file holds more than one database (made with --databases?). "
                        "Use a dump of one database."
                    )
                try:
                    cursor.execute(statement)
                except pymysql.MySQLError as exc:
                    raise RestoreError(self.describe_failure(number, statement, exc, cursor)) from None

    def check(self) -> None:
        """Raise `RestoreError` when a restore would be refused now for the user's privileges (`db-test`);
        nothing is changed."""
        with self._session(f"Checking {self._url.database!r} for a restore") as cursor:
            self._require_privileges(cursor, self._objects(cursor).kinds)

    @contextlib.contextmanager
    def _session(self, doing: str) -> Iterator[Any]:
        """A cursor on a new connection, closed after the block; a server error there becomes
        `RestoreError` ("{doing} failed: …"), and one connecting says the database was not touched."""
        try:
            connection = connect(self._url)
        except pymysql.MySQLError as exc:
            raise RestoreError(describe_connection_error(exc, self._url), database_unchanged=True) from None
        try:
            yield connection.cursor()
        except pymysql.MySQLError as exc:
            raise RestoreError(f"{doing} failed: {describe_connection_error(exc, self._url)}") from None
        finally:
            with contextlib.suppress(pymysql.MySQLError, OSError):  # already broken
                connection.close()

    def _drop_everything(self, cursor: Any) -> None:
        """Drop the database's objects. Nothing goes unless the user may drop and re-create every kind of
        object there is (so a failed restore can be put back), and the tables go while this session holds
        them all (`LOCK TABLES ... WRITE`, taken at once or not at all), so a table held by another session
        fails the restore before anything is dropped; a user without LOCK TABLES drops them one by one."""
        cursor.execute("SET FOREIGN_KEY_CHECKS=0")
        objects = self._objects(cursor)
        self._require_privileges(cursor, objects.kinds)
        locked = self._lock_all(cursor, objects.tables)
        try:
            for name in objects.tables:
                self._clear(cursor, f"DROP TABLE IF EXISTS {name}")
        finally:
            if locked:
                cursor.execute("UNLOCK TABLES")
        for statement in objects.other_drops:
            self._clear(cursor, statement)
        cursor.execute("SET FOREIGN_KEY_CHECKS=1")

    def _objects(self, cursor: Any) -> _Objects:
        """What the database holds that the user sees: its tables, and the drops for everything else."""
        database = self._url.database
        cursor.execute(
            "SELECT TABLE_TYPE, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            (database,),
        )
        listed = [(text(kind), quote_identifier(text(name))) for kind, name in cursor.fetchall()]
        tables = [name for kind, name in listed if kind != "VIEW"]
        views = [f"DROP VIEW IF EXISTS {name}" for kind, name in listed if kind == "VIEW"]
        cursor.execute(
            "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s "
            "AND ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE', 'PACKAGE')",
            (database,),
        )
        routines: list[str] = []
        for kind, name in cursor.fetchall():
            drop = f"DROP {text(kind)} IF EXISTS {quote_identifier(text(name))}"
            routines += _in_oracle_mode(drop) if text(kind) == "PACKAGE" else [drop]
        cursor.execute(
            "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s", (database,)
        )
        events = [f"DROP EVENT IF EXISTS {quote_identifier(text(name))}" for (name,) in cursor.fetchall()]
        present = (("table", tables), ("view", views), ("routine", routines), ("event", events))
        kinds = {kind for kind, objects in present if objects}
        return _Objects(tables, views + routines + events, kinds)

    def _require_privileges(self, cursor: Any, kinds: set[str]) -> None:
        """Refuse, the database unchanged, unless the user sees every object and may drop and re-create
        each of these kinds (and any it may not see): a restore replaces everything, and one that failed
        part-way could otherwise not be put back either."""
        database = self._url.database
        cursor.execute("SELECT VERSION()")
        version = text(cursor.fetchone()[0])
        hidden = hidden_from_user(cursor, database, version, list_tables(cursor, database))
        may_be_hidden = {m.kind for m in hidden if m.kind}
        missing = hidden + missing_for_restore(cursor, database, version, kinds | may_be_hidden)
        if not self._definers_stripped:
            missing += missing_to_name_definers(cursor, database, version)
        if missing:
            account = current_account(cursor)
            raise RestoreError(
                f"Restoring into {database!r} was not started, and nothing was changed: a restore replaces "
                f"everything in the database, and one that failed part-way must be put back, but user "
                f"{account} {reasons(missing)}. Grant what is missing, then restore again: "
                f"{grant_statements(missing, account)}",
                database_unchanged=True,
            )

    def _lock_all(self, cursor: Any, tables: list[str]) -> bool:
        """Hold every table for writing; False when that cannot be done (no LOCK TABLES privilege...).
        Raises `RestoreError` (the database unchanged) when another session holds one past the lock wait."""
        if not tables:
            return False
        try:
            cursor.execute("LOCK TABLES " + ", ".join(f"{name} WRITE" for name in tables))
        except pymysql.MySQLError as exc:
            if error_code(exc) != _LOCK_WAIT_TIMEOUT:
                return False  # no LOCK TABLES privilege, too many tables to open at once...: one by one
            raise RestoreError(
                f"Could not lock the tables of database {self._url.database!r} to clear them, so nothing "
                f"was dropped: {server_message(exc)}{self._lock_advice(exc, cursor)}",
                database_unchanged=True,
            ) from None
        return True

    def _clear(self, cursor: Any, statement: str) -> None:
        try:
            cursor.execute(statement)
        except pymysql.MySQLError as exc:
            raise RestoreError(
                f"Could not clear database {self._url.database!r} before the restore ({statement}): "
                f"{server_message(exc)}{self._lock_advice(exc, cursor)}"
            ) from None

    def describe_failure(
        self, number: int, statement: bytes, exc: pymysql.MySQLError, cursor: Any = None
    ) -> str:
        """The failing statement's number and start, the server's message, and the fix when one is known;
        with `cursor`, the sessions to end when the statement waited too long for a lock."""
        code = error_code(exc)
        where = f"Restore failed at statement {number} starting {preview(statement)}: {server_message(exc)}"
        if code in _BINLOG_ROUTINE_ERRORS:
            return (
                f"{where}. Binary logging is on, so creating this function needs the server setting "
                "log_bin_trust_function_creators=ON (on Cloud SQL: set the database flag "
                "log_bin_trust_function_creators to on), or the function must be declared DETERMINISTIC, "
                "NO SQL or READS SQL DATA."
            )
        if code in _NEEDS_SUPER:
            return f"{where}. The object names a DEFINER this user cannot set: back up with strip_definers."
        return where + (self._lock_advice(exc, cursor) if cursor is not None else "")

    def _lock_advice(self, exc: pymysql.MySQLError, cursor: Any) -> str:
        """For a lock wait that timed out: who may hold the lock, and what to do."""
        if error_code(exc) != _LOCK_WAIT_TIMEOUT:
            return ""
        try:
            holders = lock_holders(cursor, self._url.database)
        except pymysql.MySQLError as failure:
            holders = f"they could not be listed: {server_message(failure)}"
        return (
            f". The restore waited {self._lock_wait_seconds} s for a lock another session holds (an open "
            f"transaction or a long query). Sessions using the database: {holders}. Stop the application "
            "or end those sessions (KILL), then restore again"
        )


def _in_oracle_mode(statement: str) -> list[str]:
    """`statement` run under sql_mode ORACLE, the session's mode put back after: DROP PACKAGE (which takes
    the package's body too) parses only there."""
    return [
        "SET @restore_sql_mode = @@SESSION.sql_mode",
        "SET SESSION sql_mode = 'ORACLE'",
        statement,
        "SET SESSION sql_mode = @restore_sql_mode",
    ]
