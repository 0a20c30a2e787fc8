"""Replace a database's contents with a plain-SQL dump over one psycopg connection, in one transaction.

No psql in between: statements go to the server in batches, COPY data in large slices (`dump_splitter`),
while a thread reads, decompresses and splits what comes next. Nothing is committed unless every
statement ran and the dump proved complete, except for a schema too large to be locked in one transaction,
which is committed in steps (`lock_steps`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import psycopg
from psycopg import conninfo

from shared.dburl import DatabaseURL
from shared.engines.postgres.connection import connection_parameters
from shared.engines.postgres.dump_splitter import (
    CopyEnd,
    CopyRows,
    CopyStart,
    DumpSplitter,
    Piece,
    Statements,
)
from shared.engines.postgres.lock_steps import LockSteps
from shared.engines.postgres.releases import major_release
from shared.errors import RestoreError
from shared.prefetch import prefetched
from shared.redaction import redact

# Runs first, inside the restore's transaction: everything the dump does not recreate goes away.
# PostgreSQL 15's pg_dump never writes CREATE SCHEMA public (it assumes the schema exists), so the
# schema is recreated here the way `initdb` makes it.
CLEAR_DATABASE = b"""
SET client_min_messages = warning;
DO $clear$
DECLARE
    schema_name text;
BEGIN
    FOR schema_name IN
        SELECT nspname FROM pg_catalog.pg_namespace
         WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', schema_name);
    END LOOP;
    PERFORM pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata;
    CREATE SCHEMA public;
    COMMENT ON SCHEMA public IS 'standard public schema';
    GRANT USAGE ON SCHEMA public TO PUBLIC;
    BEGIN
        EXECUTE 'ALTER SCHEMA public OWNER TO pg_database_owner';
    EXCEPTION WHEN OTHERS THEN
        NULL;  -- before PostgreSQL 14, or not the database's owner: the restoring user keeps it
    END;
END
$clear$;
RESET client_min_messages;
"""


def restore_stream(
    url: DatabaseURL, where: str, chunks: Iterable[bytes], lock_budget: int | None = None
) -> None:
    """Run CLEAR_DATABASE and then the dump in `chunks`, in one transaction, committed only at the end.

    Raises `RestoreError` (nothing committed) when the server refuses anything, the session ends or the dump
    is incomplete; an exception from `chunks` itself passes through, also with nothing committed. When the
    transaction would hold more than `lock_budget` locks (default: `lock_steps.lock_budget`), it is
    committed in steps instead, and a failure after a step says that the database is incomplete.
    """
    settings = conninfo.make_conninfo(**connection_parameters(url))
    try:
        connection = psycopg.connect(settings, prepare_threshold=None)
    except psycopg.Error as exc:
        reason = _message(exc, url)
        raise RestoreError(f"Cannot connect to the PostgreSQL database {where}: {reason}") from None
    with connection:  # leaving it by an exception rolls back
        steps: LockSteps | None = None
        try:
            steps = LockSteps(connection, lock_budget)
            _load(connection, chunks, steps)
            connection.commit()
        except (psycopg.Error, RestoreError) as exc:
            reason = _message(exc, url) if isinstance(exc, psycopg.Error) else str(exc)
            raise RestoreError(f"{_failed(where, steps)}: {reason}") from None


def _failed(where: str, steps: LockSteps | None) -> str:
    if steps is not None and steps.committed:
        return (
            f"Restoring into {where} failed after part of it was committed (it has more tables and indexes "
            "than the server can lock in one transaction), so the database is incomplete"
        )
    return f"Restoring into {where} failed, and the database was left as it was"


def _load(
    connection: psycopg.Connection[tuple[object, ...]], chunks: Iterable[bytes], steps: LockSteps
) -> None:
    standard_strings = connection.info.parameter_status("standard_conforming_strings") != "off"
    splitter = DumpSplitter(major_release(connection.info.server_version), standard_strings=standard_strings)
    cursor = connection.cursor()
    if steps.too_many_to_drop_at_once():
        steps.drop_relations()
    cursor.execute(CLEAR_DATABASE)
    steps.checkpoint()
    # Reading, decompressing and splitting run a few pieces ahead on a thread, so the server never waits.
    pieces = prefetched(_pieces(splitter, chunks), name="restore-reader")
    try:
        for piece in pieces:
            if isinstance(piece, Statements):
                cursor.execute(piece.sql)
                if piece.may_end_transaction:
                    steps.checkpoint()
            elif isinstance(piece, CopyStart):
                _copy(cursor, piece.statement, pieces)
            else:
                raise AssertionError(f"COPY data outside a COPY block: {piece!r}")
    finally:
        _stop(pieces)


def _pieces(splitter: DumpSplitter, chunks: Iterable[bytes]) -> Iterator[Piece]:
    source = iter(chunks)
    try:
        for chunk in source:
            yield from splitter.feed(chunk)
    finally:
        _stop(source)
    yield from splitter.finish()


def _stop(iterator: Iterator[object]) -> None:
    """Close a generator now (its thread or file goes), not when the garbage collector gets to it."""
    close = getattr(iterator, "close", None)
    if callable(close):
        close()


def _copy(cursor: psycopg.Cursor[tuple[object, ...]], statement: bytes, pieces: Iterator[Piece]) -> None:
    """Run a COPY ... FROM stdin, sending its data from `pieces` up to its CopyEnd."""
    with cursor.copy(statement) as copy:
        for piece in pieces:
            if isinstance(piece, CopyEnd):
                return
            assert isinstance(piece, CopyRows)
            copy.write(piece.data)
        raise RestoreError("the dump is incomplete (it ends inside the data of a COPY block)")


def _message(exc: psycopg.Error, url: DatabaseURL) -> str:
    """The server's (or libpq's) words, with the password masked should they ever hold it."""
    return redact(str(exc).strip() or type(exc).__name__, [url.password])
