"""Read what a MySQL/MariaDB database holds: tables, columns, views, routines, triggers, events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pymysql

from shared.engines.mysql.connection import error_code
from shared.engines.mysql.value_formats import Column, quote_identifier
from shared.errors import DumpError

Cursor = Any  # a PyMySQL cursor on a connection opened with use_unicode=False
INTEGER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "integer", "bigint"})


@dataclass(frozen=True)
class Table:
    name: str
    kind: str
    """BASE TABLE, SYSTEM VERSIONED, SEQUENCE or VIEW, as information_schema.TABLES says."""
    engine: str
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()

    @property
    def integer_key(self) -> str | None:
        """The InnoDB base table's one-column integer primary key, which batched reads walk; else None."""
        if self.kind != "BASE TABLE" or self.engine.lower() != "innodb" or len(self.primary_key) != 1:
            return None
        types = {column.name: column.data_type.lower() for column in self.columns}
        return self.primary_key[0] if types.get(self.primary_key[0]) in INTEGER_TYPES else None

    @property
    def is_view(self) -> bool:
        return self.kind == "VIEW"

    @property
    def is_unusable_view(self) -> bool:
        """A view over a table, column or function that is gone (or that its definer may not use): the
        server lists no columns for it, and a restore could not create it."""
        return self.is_view and not self.columns

    @property
    def is_sequence(self) -> bool:
        return self.kind == "SEQUENCE"

    @property
    def is_merge(self) -> bool:
        """A MERGE (MRG_MyISAM) table: a view of the union of other MyISAM tables' rows."""
        return self.engine.lower() == "mrg_myisam"

    @property
    def insertable_columns(self) -> list[Column]:
        return [column for column in self.columns if not column.generated]


@dataclass(frozen=True)
class Definition:
    """A SHOW CREATE result for a view, routine, trigger or event, with its creation context."""

    kind: str
    name: str
    statement: str
    sql_mode: str | None
    collation_connection: str
    time_zone: str | None = None


def text(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "surrogateescape")
    return "" if value is None else str(value)


def fetch_dicts(cursor: Cursor, sql: str, args: tuple[object, ...] | None = None) -> list[dict[str, object]]:
    cursor.execute(sql, args)
    names = [text(column[0]) for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_tables(cursor: Cursor, database: str) -> list[Table]:
    """Every table, view and sequence with its columns (generated ones marked) and primary key, by name."""
    columns: dict[str, list[Column]] = {}
    for row in fetch_dicts(
        cursor,
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, EXTRA, CHARACTER_SET_NAME "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
        (database,),
    ):
        columns.setdefault(text(row["TABLE_NAME"]), []).append(
            Column(
                text(row["COLUMN_NAME"]),
                text(row["DATA_TYPE"]),
                _is_generated(text(row["EXTRA"])),
                charset=text(row["CHARACTER_SET_NAME"]),
            )
        )
    primary_keys: dict[str, list[str]] = {}
    for row in fetch_dicts(
        cursor,
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = %s AND INDEX_NAME = 'PRIMARY' ORDER BY TABLE_NAME, SEQ_IN_INDEX",
        (database,),
    ):
        primary_keys.setdefault(text(row["TABLE_NAME"]), []).append(text(row["COLUMN_NAME"]))
    rows = fetch_dicts(
        cursor,
        "SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
        (database,),
    )
    return [
        Table(
            name=text(row["TABLE_NAME"]),
            kind=text(row["TABLE_TYPE"]),
            engine=text(row["ENGINE"]),
            columns=columns.get(text(row["TABLE_NAME"]), []),
            primary_key=tuple(primary_keys.get(text(row["TABLE_NAME"]), [])),
        )
        for row in rows
    ]


def _is_generated(extra: str) -> bool:
    """VIRTUAL/STORED generated columns (and MariaDB's ROW START/END), not MySQL's DEFAULT_GENERATED."""
    extra = extra.upper()
    return "VIRTUAL GENERATED" in extra or "STORED GENERATED" in extra


def show_create_table(cursor: Cursor, table: Table) -> str:
    """Its CREATE statement; a sequence's from SHOW CREATE SEQUENCE, since SHOW CREATE TABLE gives one
    (`CREATE TABLE … SEQUENCE=1`) that makes it again with the default start, increment, bounds, cache
    and cycling."""
    show = "SHOW CREATE SEQUENCE" if table.is_sequence else "SHOW CREATE TABLE"
    cursor.execute(f"{show} {quote_identifier(table.name)}")
    row = cursor.fetchone()
    if row is None or row[1] is None:
        raise DumpError(f"{show} {table.name!r} returned nothing; check the user's privileges on it")
    return text(row[1])


def _names(cursor: Cursor, sql: str, database: str) -> list[tuple[str, str]]:
    cursor.execute(sql, (database,))
    return [(text(row[0]), text(row[1])) for row in cursor.fetchall()]


class UnreadableDefinition(DumpError):
    """The user sees a view, routine, trigger or event but may not read its definition (SHOW CREATE
    answers NULL, or is refused); `privileges.unreadable_definition` says which GRANT fixes it."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(
            f"The server returned no definition for {kind.lower()} {name!r}: the user lacks the privilege "
            "to read it (SHOW_ROUTINE / SELECT on mysql.proc for routines, SHOW VIEW, TRIGGER, EVENT). "
            "Grant it, or the backup would be incomplete."
        )
        self.kind = kind
        self.name = name


_DEFINITION_DENIED = frozenset({1142, 1227, 1370})
"""SHOW CREATE refused: command denied on the object, a missing privilege, routine access denied."""


def _definition(cursor: Cursor, kind: str, name: str, statement_column: str) -> Definition:
    try:
        rows = fetch_dicts(cursor, f"SHOW CREATE {kind} {quote_identifier(name)}")
    except pymysql.MySQLError as exc:
        if error_code(exc) in _DEFINITION_DENIED:  # SHOW CREATE VIEW without SHOW VIEW
            raise UnreadableDefinition(kind, name) from None
        raise
    statement = rows[0].get(statement_column) if rows else None
    if statement is None:  # a routine's body without the privilege to read it
        raise UnreadableDefinition(kind, name)
    row = rows[0]
    return Definition(
        kind=kind,
        name=name,
        statement=text(statement),
        sql_mode=text(row["sql_mode"]) if "sql_mode" in row else None,
        collation_connection=text(row.get("collation_connection")) or "utf8mb4_general_ci",
        time_zone=text(row["time_zone"]) if "time_zone" in row else None,
    )


ROUTINE_TYPES = ("FUNCTION", "PROCEDURE", "PACKAGE", "PACKAGE BODY")
"""In the order they are written: functions first (views and other routines may call them), then
procedures, then MariaDB's packages (sql_mode=ORACLE), each package before its body."""
ROUTINE_TYPE_LIST = ", ".join(f"'{kind}'" for kind in ROUTINE_TYPES)


def routines(cursor: Cursor, database: str) -> list[Definition]:
    """Every stored routine, in `ROUTINE_TYPES` order, then by name."""
    found = _names(
        cursor,
        "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s "
        f"AND ROUTINE_TYPE IN ({ROUTINE_TYPE_LIST}) "
        f"ORDER BY FIELD(ROUTINE_TYPE, {ROUTINE_TYPE_LIST}), ROUTINE_NAME",
        database,
    )
    return [_definition(cursor, kind, name, f"Create {kind.title()}") for kind, name in found]


def views(cursor: Cursor, tables: list[Table]) -> list[Definition]:
    """The views of `tables`, unusable ones included (`Table.is_unusable_view`)."""
    return [_definition(cursor, "VIEW", table.name, "Create View") for table in tables if table.is_view]


def triggers(cursor: Cursor, database: str) -> list[Definition]:
    """In the order they fire, per table, timing and event (ACTION_ORDER)."""
    found = _names(
        cursor,
        "SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
        "ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
        database,
    )
    return [_definition(cursor, "TRIGGER", name, "SQL Original Statement") for _, name in found]


def events(cursor: Cursor, database: str) -> list[Definition]:
    found = _names(
        cursor,
        "SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s "
        "ORDER BY EVENT_NAME",
        database,
    )
    return [_definition(cursor, "EVENT", name, "Create Event") for _, name in found]
