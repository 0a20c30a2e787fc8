"""Stream a consistent logical dump of one MySQL/MariaDB database as SQL text, in ~1 MiB chunks.

What goes out, in order: a header that fixes the session (utf8mb4, UTC, no FK/unique checks,
sql_mode NO_AUTO_VALUE_ON_ZERO); each table (SHOW CREATE TABLE) followed by its rows as extended
INSERTs with an explicit column list (INVISIBLE columns included, generated columns left out);
functions and procedures; views (placeholders first, so views on views load in any order); triggers
(after the data, in firing order); events; a footer that restores the session.

InnoDB tables with a one-column integer primary key are read in key ranges whose rows the server
joins into one value list per range (`batches.py`), so the client decodes one packet per ~1 MiB
instead of one per row; the server only marks where quoted values start and end and the client
escapes them (`marked_values.py`). Other tables stream one server-quoted row literal per row.

All tables are read inside one REPEATABLE READ snapshot, with a savepoint rolled back after each
table so metadata locks are released. Non-InnoDB tables are not covered by the snapshot: each one
adds a warning to the report.

Each view, routine, trigger and event is created under its own sql_mode, collation_connection
(and time_zone for events); character_set_client stays utf8mb4 because the file is utf8mb4. Trigger
FOLLOWS/PRECEDES clauses are dropped: writing triggers in ACTION_ORDER recreates the same order.
Definitions are read before any data, so a missing privilege fails the dump early. Before them the
user is proven to see every table, column, routine, trigger and event (`privileges.py`): a user with
partial privileges fails the dump with the GRANT that fixes it, instead of leaving objects out.

System-versioned tables (MariaDB `WITH SYSTEM VERSIONING`): only the current rows are dumped and a
warning says so. The history rows are not restored; restored rows start their history at restore time.
MariaDB sequences are recreated at their next not-cached value (as after a server restart: no number
is handed out twice, cached numbers are skipped).

Any server error, killed query or lost connection raises `DumpError`: the iterator never ends
normally on a short dump.
"""

from __future__ import annotations

from collections.abc import Iterator

import pymysql
import pymysql.cursors

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport, plain_text_warning
from shared.engines.mysql import schema, script
from shared.engines.mysql.batches import RowReader, batched_values
from shared.engines.mysql.connection import Connection, describe_connection_error, is_encrypted, where
from shared.engines.mysql.parallel_reads import key_spans, parallel_values
from shared.engines.mysql.privileges import check_visibility, unreadable_definition
from shared.engines.mysql.schema import Table
from shared.engines.mysql.snapshot import Readers, open_readers
from shared.engines.mysql.value_formats import quote_identifier, row_select
from shared.engines.mysql.view_order import in_dependency_order
from shared.errors import DumpError

CHUNK_BYTES = 1 << 20
STATEMENT_BYTES = 1 << 20
"""Upper bound of one extended INSERT: far below any server's max_allowed_packet (≥ 4 MiB by default)."""
FETCH_ROWS = 1000
PACKET_MARGIN = 1024
"""Room left in max_allowed_packet for the batch result's other columns and packet headers."""
MIN_BATCH_BYTES = 4096
"""Below this statement budget (tiny max_allowed_packet, huge column list) tables are read row by row."""


class MySQLDumper:
    """Reads one database and yields its dump; fills a `DumpReport` on the way."""

    def __init__(self, url: DatabaseURL, options: DumpOptions) -> None:
        self._url = url
        self._options = options

    def chunks(self, report: DumpReport) -> Iterator[bytes]:
        try:
            readers = open_readers(
                self._url, max(1, self._options.mysql_readers), self._options.dump_lock_wait_seconds
            )
        except pymysql.MySQLError as exc:
            raise DumpError(describe_connection_error(exc, self._url)) from None
        try:
            yield from _coalesce(self._pieces(readers, report))
        except pymysql.MySQLError as exc:
            raise DumpError(
                f"Dump of {self._url.database!r} failed: {describe_connection_error(exc, self._url)}"
            ) from exc
        finally:
            readers.close()

    def _pieces(self, readers: Readers, report: DumpReport) -> Iterator[bytes]:
        database = self._url.database
        cursor = readers.main.cursor()
        report.readers = 1 + len(readers.extra)
        server = f"MySQL at {where(self._url)}"
        if warning := plain_text_warning(self._url, is_encrypted(readers.main), server):
            report.warnings.append(warning)
        cursor.execute("SELECT VERSION(), @@max_allowed_packet")
        version, max_packet = cursor.fetchone()
        report.server_version = schema.text(version)
        tables = schema.list_tables(cursor, database)
        _warn_about(tables, report)
        # Objects the user may not see would be left out without a word: prove there are none, or fail.
        check_visibility(cursor, database, report.server_version, tables)
        # Definitions are small: read them all first, so a missing privilege fails before the long data part.
        try:
            routines = schema.routines(cursor, database)
            views = in_dependency_order(schema.views(cursor, tables))
            triggers = schema.triggers(cursor, database)
            events = schema.events(cursor, database)
        except schema.UnreadableDefinition as exc:
            raise unreadable_definition(cursor, database, report.server_version, exc.kind, exc.name) from None
        yield script.header(database, report.server_version)
        for table in tables:
            if table.is_view:
                continue
            yield script.create_table(table, schema.show_create_table(cursor, table))
            if table.is_sequence:
                cursor.execute(f"SELECT next_not_cached_value FROM {quote_identifier(table.name)}")
                yield script.sequence_value(table, int(cursor.fetchone()[0]))
            elif not table.is_merge:  # its rows are its underlying tables', dumped with them
                yield from self._rows(readers, table, int(max_packet), report)
            cursor.execute("ROLLBACK TO SAVEPOINT dump_table")
        strip = self._options.strip_definers
        for definition in routines:
            yield script.object_block(definition, strip_definers=strip)
        unusable = {table.name for table in tables if table.is_unusable_view}
        view_tables = [table for table in tables if table.is_view and table.name not in unusable]
        if view_tables:
            yield b"\n-- Placeholders for views, replaced below\n"
            for table in view_tables:
                yield script.view_placeholder(table)
        for definition in views:
            if definition.name in unusable:
                report.warnings.append(_left_out(definition.name))
                yield script.left_out_view(definition, UNUSABLE_VIEW)
            else:
                yield script.object_block(definition, strip_definers=strip)
        for definition in (*triggers, *events):
            yield script.object_block(definition, strip_definers=strip)
        cursor.execute("COMMIT")
        yield script.footer(len(report.tables))

    def _rows(self, readers: Readers, table: Table, max_packet: int, report: DumpReport) -> Iterator[bytes]:
        columns = table.insertable_columns
        prefix = (
            f"INSERT INTO {quote_identifier(table.name)} "
            f"({','.join(quote_identifier(column.name) for column in columns)}) VALUES "
        ).encode("utf-8", "surrogateescape")
        report.tables[table.name] = 0

        def row_reader_for(connection: Connection) -> RowReader:
            def read_rows(sql: str, args: tuple[object, ...]) -> Iterator[bytes]:
                return self._row_literals(connection, table, sql, args, max_packet, len(prefix), report)

            return read_rows

        database = self._url.database
        key = table.integer_key
        budget = min(STATEMENT_BYTES, max_packet - PACKET_MARGIN) - len(prefix) - 2
        main = readers.main
        pieces: Iterator[tuple[bytes, int]]
        if key is None or budget < MIN_BATCH_BYTES:
            read_rows = row_reader_for(main)
            pieces = ((value, 1) for value in read_rows(row_select(database, table.name, columns), ()))
        else:
            shared = table.name in readers.shared_tables
            connections = [main, *readers.extra] if shared else [main]
            spans = key_spans(main.cursor(), database, table, key, len(connections)) if shared else []
            if len(spans) > 1:
                pieces = parallel_values(
                    connections, database, table, key, budget, spans, row_reader_for, _release_table
                )
            else:
                pieces = batched_values(main.cursor(), database, table, key, budget, row_reader_for(main))
        batch: list[bytes] = []
        size = len(prefix)
        for values, rows in pieces:
            if batch and size + len(values) + 1 > STATEMENT_BYTES:
                yield prefix + b",".join(batch) + b";\n"
                batch = []
                size = len(prefix)
            batch.append(values)
            size += len(values) + 1
            report.tables[table.name] += rows
        if batch:
            yield prefix + b",".join(batch) + b";\n"

    def _row_literals(
        self,
        connection: Connection,
        table: Table,
        sql: str,
        args: tuple[object, ...],
        max_packet: int,
        prefix_length: int,
        report: DumpReport,
    ) -> Iterator[bytes]:
        """Stream one `(v1,...)` literal per row; a row too large for one statement raises `DumpError`.

        Rows are numbered after those `report` already counts for the table.
        """
        row_limit = max_packet - prefix_length - 16
        # Unbuffered: rows stream from the server. On an error the whole connection is closed by the caller.
        cursor = connection.cursor(pymysql.cursors.SSCursor)
        try:
            cursor.execute(sql, args or None)
            while rows := cursor.fetchmany(FETCH_ROWS):
                for (value,) in rows:
                    if value is None or len(value) > row_limit:
                        raise DumpError(
                            f"Row {report.tables[table.name] + 1} of table {table.name!r} is larger than "
                            f"max_allowed_packet ({max_packet} bytes) and cannot be written as one "
                            "statement; raise max_allowed_packet on the server (and on the restore target)."
                        )
                    yield value
        except BaseException:
            _abandon(cursor)
            raise
        cursor.close()


UNUSABLE_VIEW = "it references a table, column or function that is gone, or that its definer may not use"


def _left_out(view: str) -> str:
    return (
        f"View {view!r} is left out: {UNUSABLE_VIEW}, so a restore could not create it. Its definition is "
        "kept as a comment in the backup file; fix the view or drop it."
    )


def _warn_about(tables: list[Table], report: DumpReport) -> None:
    for table in tables:
        if table.kind in ("BASE TABLE", "SYSTEM VERSIONED") and table.engine.lower() != "innodb":
            report.warnings.append(
                f"Table {table.name!r} uses the {table.engine or 'unknown'} engine, which the consistent "
                "snapshot does not cover: its rows may be from a slightly different moment."
            )
        if table.kind == "SYSTEM VERSIONED":
            report.warnings.append(
                f"Table {table.name!r} is system-versioned: only its current rows are backed up, "
                "not its history."
            )


def _abandon(cursor: pymysql.cursors.SSCursor) -> None:
    """Forget an unfinished unbuffered result; PyMySQL would otherwise drain it from a closed socket later."""
    result = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False


def _release_table(connection: Connection) -> None:
    """Give back the metadata locks the table's reads took on this connection."""
    connection.cursor().execute("ROLLBACK TO SAVEPOINT dump_table")


def _coalesce(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Join small pieces into chunks of at most CHUNK_BYTES; a larger piece goes out alone."""
    pending: list[bytes] = []
    size = 0
    for piece in pieces:
        if pending and size + len(piece) > CHUNK_BYTES:
            yield pending[0] if len(pending) == 1 else b"".join(pending)
            pending, size = [], 0
        pending.append(piece)
        size += len(piece)
    if pending:
        yield pending[0] if len(pending) == 1 else b"".join(pending)
