"""Replace a database's contents with a plain-SQL dump over one psycopg connection, in one transaction.

No psql in between: statements go to the server in batches, COPY data in large slices (`dump_splitter`),
while a thread reads, decompresses and splits what comes next. Nothing is committed unless every
statement ran and the dump proved complete, except for a schema too large to be locked in one transaction,
which is committed in steps (`lock_steps`), and when large tables are loaded over several connections
(`parallel_copy`, opt-in).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain

import psycopg
from psycopg import conninfo

from shared.dburl import DatabaseURL
from shared.engines.base import RESTORE_LOCK_WAIT_SECONDS
from shared.engines.postgres.connection import connection_parameters
from shared.engines.postgres.dump_splitter import (
    CopyEnd,
    CopyRows,
    CopyStart,
    DumpSplitter,
    Piece,
    Statements,
)
from shared.engines.postgres.lock_holders import lock_holders
from shared.engines.postgres.lock_steps import LockSteps
from shared.engines.postgres.parallel_copy import PARALLEL_FROM_BYTES, CopyLoaders, loads_in_parallel
from shared.engines.postgres.releases import major_release
from shared.errors import BackupServiceError, RestoreError
from shared.prefetch import prefetched
from shared.redaction import redact

# Runs first, inside the restore's transaction: everything the dump does not recreate goes away: the
# schemas (with what is in them), large objects, and the objects of no schema that pg_dump writes
# (event triggers first, so none fires on the rest; publications, foreign-data wrappers with their
# servers and user mappings, user-made casts and access methods, extensions left in pg_catalog). One the
# restoring user may not drop is left, as before. Subscriptions are left too: dropping one in a
# transaction means cutting it from its slot on the publisher, which would then keep WAL for it forever.
# PostgreSQL 15's pg_dump never writes CREATE SCHEMA public (it assumes the schema exists), so the
# schema is recreated here the way `initdb` makes it.
CLEAR_DATABASE = b"""
SET client_min_messages = warning;
DO $clear$
DECLARE
    schema_name text;
    statement text;
BEGIN
    FOR statement IN
        SELECT format('DROP EVENT TRIGGER %I', evtname) FROM pg_catalog.pg_event_trigger e
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_event_trigger'::regclass
                            AND d.objid = e.oid AND d.deptype = 'e')
    LOOP
        BEGIN
            EXECUTE statement;
        EXCEPTION WHEN insufficient_privilege THEN
            NULL;
        END;
    END LOOP;
    FOR schema_name IN
        SELECT nspname FROM pg_catalog.pg_namespace
         WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'
    LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', schema_name);
    END LOOP;
    FOR statement IN
        SELECT format('DROP PUBLICATION %I', pubname) FROM pg_catalog.pg_publication
        UNION ALL
        SELECT format('DROP EXTENSION %I CASCADE', extname) FROM pg_catalog.pg_extension
         WHERE extname <> 'plpgsql'
        UNION ALL
        SELECT format('DROP FOREIGN DATA WRAPPER %I CASCADE', fdwname)
          FROM pg_catalog.pg_foreign_data_wrapper w
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_foreign_data_wrapper'::regclass AND d.objid = w.oid
                              AND d.deptype = 'e')
        UNION ALL
        SELECT format('DROP CAST (%s AS %s) CASCADE', castsource::regtype, casttarget::regtype)
          FROM pg_catalog.pg_cast c
         WHERE c.oid >= 16384
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_cast'::regclass
                            AND d.objid = c.oid AND d.deptype = 'e')
        UNION ALL
        SELECT format('DROP ACCESS METHOD %I CASCADE', amname) FROM pg_catalog.pg_am a
         WHERE a.oid >= 16384
           AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_am'::regclass
                            AND d.objid = a.oid AND d.deptype = 'e')
    LOOP
        BEGIN
            EXECUTE statement;
        EXCEPTION WHEN insufficient_privilege OR undefined_object THEN
            NULL;  -- not ours to drop; or gone already, with an extension or wrapper dropped before it
        END;
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
    url: DatabaseURL,
    where: str,
    chunks: Iterable[bytes],
    lock_budget: int | None = None,
    connections: int = 1,
    parallel_from_bytes: int = PARALLEL_FROM_BYTES,
    lock_wait_seconds: int = RESTORE_LOCK_WAIT_SECONDS,
    on_commit: Callable[[], None] = lambda: None,
) -> None:
    """Run CLEAR_DATABASE and then the dump in `chunks`, in one transaction, committed only at the end.

    Raises `RestoreError` (nothing committed: `database_unchanged`) when the server refuses anything, the
    session ends, the dump is incomplete or `chunks` fails (the error is its cause). When the
    transaction would hold more than `lock_budget` locks (default: `lock_steps.lock_budget`), it is
    committed in steps instead; with `connections` > 1, a table's COPY data longer than
    `parallel_from_bytes` is loaded over that many more connections after a commit. A failure after such a
    commit says that the database is incomplete; `on_commit` hears of such a commit before it is sent.
    """
    settings = conninfo.make_conninfo(**connection_parameters(url))
    try:
        connection = psycopg.connect(settings, prepare_threshold=None)
    except psycopg.Error as exc:
        reason = _message(exc, url)
        message = f"Cannot connect to the PostgreSQL database {where}: {reason}"
        raise RestoreError(message, database_unchanged=True) from None
    loaders = CopyLoaders(settings, connections if connections > 1 else 0, parallel_from_bytes, on_commit)
    with connection:  # leaving it by an exception rolls back
        steps: LockSteps | None = None
        committing = False
        try:
            connection.execute(f"SET lock_timeout = '{lock_wait_seconds}s'")
            steps = LockSteps(connection, lock_budget, on_commit)
            _load(connection, chunks, steps, loaders)
            committing = True
            connection.commit()
        except psycopg.errors.LockNotAvailable as exc:
            reason = _lock_wait(_message(exc, url), connection, lock_wait_seconds)
            raise _failure(where, steps, loaders, committing, reason) from None
        except (psycopg.Error, RestoreError) as exc:
            reason = _message(exc, url) if isinstance(exc, psycopg.Error) else str(exc)
            in_doubt = committing and not isinstance(exc, psycopg.errors.IntegrityError)
            raise _failure(where, steps, loaders, in_doubt, reason) from None
        except Exception as exc:  # from `chunks`: reading or decompressing the backup, or its time limit
            named = str(exc) if isinstance(exc, BackupServiceError) else f"{type(exc).__name__}: {exc}"
            reason = redact(named, [url.password])
            raise _failure(where, steps, loaders, committing, reason) from exc
        except KeyboardInterrupt as interrupt:  # Ctrl-C or SIGTERM on the command line: the transaction goes
            named = f"({interrupt})" if str(interrupt) else "from the keyboard (Ctrl-C)"
            reason = f"interrupted {named}"
            raise _failure(where, steps, loaders, committing, reason) from interrupt
        finally:
            loaders.close()


def _lock_wait(server_message: str, connection: psycopg.Connection[tuple[object, ...]], seconds: int) -> str:
    try:
        connection.rollback()
        holders = lock_holders(connection)
    except psycopg.Error as exc:
        holders = f"they could not be listed ({str(exc).strip()})"
    return (
        f"{server_message}: the restore waited {seconds} s for a lock another session holds (an open "
        f"transaction or a long query). Sessions holding table locks: {holders}. Stop the application or "
        "end those sessions (pg_terminate_backend), then restore again"
    )


def _failure(
    where: str, steps: LockSteps | None, loaders: CopyLoaders, commit_in_doubt: bool, reason: str
) -> RestoreError:
    """The error, saying whether the database is as it was: nothing committed, not even in doubt. A commit
    that failed is in doubt unless the server refused it for a deferred constraint (then it rolled back);
    a lost connection or a session ended during the commit may come after the commit itself."""
    unchanged = not (loaders.used or (steps is not None and steps.committed) or commit_in_doubt)
    message = f"{_failed(where, steps, loaders, commit_in_doubt)}: {reason}"
    return RestoreError(message, database_unchanged=unchanged)


def _failed(where: str, steps: LockSteps | None, loaders: CopyLoaders, commit_in_doubt: bool) -> str:
    if loaders.used:
        return (
            f"Restoring into {where} failed after part of it was committed (its large tables were being "
            "loaded over several connections), so the database is incomplete"
        )
    if steps is not None and steps.committed:
        return (
            f"Restoring into {where} failed after part of it was committed (it has more tables, indexes, "
            "routines or types than the server can lock in one transaction), so the database is incomplete"
        )
    if commit_in_doubt:
        return (
            f"Restoring into {where} failed while committing, so whether the server committed the restore "
            "is not known: check the database"
        )
    return f"Restoring into {where} failed, and the database was left as it was"


def _load(
    connection: psycopg.Connection[tuple[object, ...]],
    chunks: Iterable[bytes],
    steps: LockSteps,
    loaders: CopyLoaders,
) -> None:
    standard_strings = connection.info.parameter_status("standard_conforming_strings") != "off"
    splitter = DumpSplitter(major_release(connection.info.server_version), standard_strings=standard_strings)
    cursor = connection.cursor()
    if steps.too_many_to_drop_at_once():
        steps.drop_in_steps()
    cursor.execute(CLEAR_DATABASE)
    steps.checkpoint()
    may_commit = True
    # Reading, decompressing and splitting run a few pieces ahead on a thread, so the server never waits.
    pieces = prefetched(_pieces(splitter, chunks), name="restore-reader")
    try:
        for piece in pieces:
            if isinstance(piece, Statements):
                cursor.execute(piece.sql)
                may_commit = piece.may_end_transaction
                if may_commit:
                    steps.checkpoint()
            elif isinstance(piece, CopyStart):
                rows = _block_rows(pieces)
                if may_commit and loaders.count and loads_in_parallel(piece.statement):
                    head, ended = _read_ahead(rows, loaders.from_bytes)
                    rows = chain(head, rows)
                    if not ended and loaders.available():
                        loaders.commit_for_loading(connection)
                        loaders.load(piece.statement, rows, session_of=connection)
                        continue
                _copy(cursor, piece.statement, rows)
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


def _block_rows(pieces: Iterator[Piece]) -> Iterator[memoryview]:
    """The data of the COPY block just started, up to its CopyEnd."""
    for piece in pieces:
        if isinstance(piece, CopyEnd):
            return
        assert isinstance(piece, CopyRows)
        yield piece.data
    raise RestoreError("the dump is incomplete (it ends inside the data of a COPY block)")


def _read_ahead(rows: Iterator[memoryview], limit: int) -> tuple[list[memoryview], bool]:
    """The block's first `limit` bytes of data (or more, to the piece that passes it), and whether that
    was all of it."""
    head: list[memoryview] = []
    size = 0
    for data in rows:
        head.append(data)
        size += len(data)
        if size > limit:
            return head, False
    return head, True


def _copy(cursor: psycopg.Cursor[tuple[object, ...]], statement: bytes, rows: Iterable[memoryview]) -> None:
    """Run a COPY ... FROM stdin on the restore's own connection, sending it `rows`."""
    with cursor.copy(statement) as copy:
        for data in rows:
            copy.write(data)


def _message(exc: psycopg.Error, url: DatabaseURL) -> str:
    """The server's (or libpq's) words, with the password masked should they ever hold it."""
    return redact(str(exc).strip() or type(exc).__name__, [url.password])
