"""The text of a dump file: header, footer and the statements that recreate each object."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.engines.mysql.definitions import choose_delimiter, strip_definer, strip_trigger_order
from shared.engines.mysql.schema import Definition, Table
from shared.engines.mysql.value_formats import quote_identifier, quote_string

RESTORE_SQL_MODE = "NO_AUTO_VALUE_ON_ZERO"
_RESET_SESSION = (
    f"SET SESSION sql_mode={quote_string(RESTORE_SQL_MODE)}, time_zone='+00:00';\nSET NAMES utf8mb4;\n"
)


HEADER_PREFIX = "-- MySQL/MariaDB dump of database "
HEADER_SUFFIX = " by db-backup-service"
"""The first line of every MySQL dump this tool writes is HEADER_PREFIX + `database` + HEADER_SUFFIX."""


def header(database: str, server_version: str) -> bytes:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"{HEADER_PREFIX}{quote_identifier(database)}{HEADER_SUFFIX}\n"
        f"-- Server version: {server_version.replace(chr(10), ' ')}\n"
        f"-- Started: {when}\n"
        "-- Load it with: mariadb --comments DATABASE < FILE\n"
        "-- (--comments keeps the comments inside routine bodies)\n\n"
        "SET @saved_cs_client=@@character_set_client, @saved_cs_results=@@character_set_results,"
        " @saved_collation_connection=@@collation_connection, @saved_time_zone=@@time_zone,"
        " @saved_unique_checks=@@unique_checks, @saved_foreign_key_checks=@@foreign_key_checks,"
        " @saved_sql_mode=@@sql_mode, @saved_sql_notes=@@sql_notes;\n"
        "SET NAMES utf8mb4;\n"
        f"SET time_zone='+00:00', unique_checks=0, foreign_key_checks=0,"
        f" sql_mode={quote_string(RESTORE_SQL_MODE)}, sql_notes=0;\n"
        # Rows the source holds against a CHECK constraint (written while its checks were off) load too.
        "/*M!100201 SET @saved_check_constraint_checks=@@check_constraint_checks,"
        " check_constraint_checks=0 */;\n\n"
    ).encode()


def footer(table_count: int) -> bytes:
    return (
        "\nSET time_zone=@saved_time_zone, unique_checks=@saved_unique_checks,"
        " foreign_key_checks=@saved_foreign_key_checks, sql_mode=@saved_sql_mode,"
        " sql_notes=@saved_sql_notes;\n"
        "/*M!100201 SET check_constraint_checks=@saved_check_constraint_checks */;\n"
        "SET character_set_client=@saved_cs_client, character_set_results=@saved_cs_results,"
        " collation_connection=@saved_collation_connection;\n"
        f"-- Dump completed: {table_count} tables\n"
    ).encode()


def create_table(table: Table, create_statement: str) -> bytes:
    name = quote_identifier(table.name)
    return f"\n-- Table {name}\nDROP TABLE IF EXISTS {name};\n{create_statement};\n".encode(
        "utf-8", "surrogateescape"
    )


def sequence_value(table: Table, next_value: int) -> bytes:
    return f"SELECT SETVAL({quote_identifier(table.name)}, {next_value}, 0);\n".encode(
        "utf-8", "surrogateescape"
    )


def view_placeholder(table: Table) -> bytes:
    """A stand-in view with the right column names, so views on views load in any order."""
    columns = ", ".join(f"1 AS {quote_identifier(column.name)}" for column in table.columns) or "1 AS `1`"
    name = quote_identifier(table.name)
    return f"DROP TABLE IF EXISTS {name};\nCREATE OR REPLACE VIEW {name} AS SELECT {columns};\n".encode(
        "utf-8", "surrogateescape"
    )


def drop_statement(definition: Definition) -> str:
    return f"DROP {definition.kind} IF EXISTS {quote_identifier(definition.name)};\n"


def object_block(definition: Definition, *, strip_definers: bool) -> bytes:
    """DROP + CREATE of one view, routine, trigger or event under the context it was created in."""
    statement = definition.statement
    if strip_definers:
        statement = strip_definer(statement)
    if definition.kind == "TRIGGER":
        statement = strip_trigger_order(statement)
    if definition.kind == "VIEW":
        statement = _or_replace(statement)
    context = [f"collation_connection={quote_string(definition.collation_connection)}"]
    if definition.sql_mode is not None:
        context.append(f"sql_mode={quote_string(definition.sql_mode)}")
    if definition.time_zone is not None:
        context.append(f"time_zone={quote_string(definition.time_zone)}")
    delimiter = choose_delimiter(statement)
    drop = "" if definition.kind == "VIEW" else drop_statement(definition)
    # A package's DROP parses only under its own sql_mode (ORACLE); the others go first, as in mariadb-dump.
    before, after = ("", drop) if definition.kind.startswith("PACKAGE") else (drop, "")
    return (
        f"\n-- {definition.kind.title()} {quote_identifier(definition.name)}\n{before}"
        f"SET SESSION {', '.join(context)};\n{after}"
        f"DELIMITER {delimiter}\n{statement}{delimiter}\nDELIMITER ;\n{_RESET_SESSION}"
    ).encode("utf-8", "surrogateescape")


def left_out_view(definition: Definition, why: str) -> bytes:
    """A view the server cannot use, kept only as comment lines: a restore could not create it."""
    lines = "\n".join(f"--   {line}" for line in definition.statement.splitlines())
    return (
        f"\n-- View {quote_identifier(definition.name)} is left out: {why}\n"
        f"-- Its definition:\n{lines}\n"
    ).encode("utf-8", "surrogateescape")


def _or_replace(statement: str) -> str:
    stripped = statement.lstrip()
    if stripped[:7].upper() == "CREATE " and not stripped[7:].lstrip().upper().startswith("OR REPLACE"):
        return "CREATE OR REPLACE " + stripped[7:]
    return statement
