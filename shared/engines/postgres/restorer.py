"""Replace a database's contents with a plain-SQL dump, through psql, in one transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import IO

from shared.engines.postgres import child_process
from shared.engines.postgres.dump_scanner import PlainDumpScanner
from shared.engines.postgres.tools import ClientTools
from shared.errors import RestoreError
from shared.prefetch import prefetched

PSQL_FLAGS = ("-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-")

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
    tools: ClientTools, env: dict[str, str], server_major: int, where: str, chunks: Iterable[bytes]
) -> None:
    """Feed CLEAR_DATABASE and then the dump to psql; raise `RestoreError`, committing nothing, on failure."""
    scanner = PlainDumpScanner(server_major, drop_transaction_control=True)
    process = child_process.start([tools.psql, *PSQL_FLAGS], env, feed_stdin=True)
    stderr = child_process.StderrCollector(_pipe(process.stderr))
    stdin = _pipe(process.stdin)
    input_finished = False
    psql_reading = True
    try:
        psql_reading = _send(stdin, CLEAR_DATABASE)
        # Reading, verifying and decompressing run a few chunks ahead, so psql never waits for them.
        for chunk in prefetched(chunks, name="restore-reader"):
            if not psql_reading:
                break  # psql met an error and stopped; its exit code and stderr say which
            psql_reading = _send(stdin, scanner.feed(chunk))
        if psql_reading:
            _send(stdin, scanner.finish())
            if scanner.inside_copy or not scanner.trailer_seen:
                raise RestoreError(
                    f"The dump to restore into {where} is incomplete (no 'dump complete' trailer); "
                    "nothing was changed."
                )
        input_finished = True
    finally:
        if not input_finished:
            # psql commits at the end of its input: kill it instead, so the server rolls everything back.
            child_process.stop(process)
        _close_quietly(stdin)
    exit_code = process.wait()
    messages = stderr.text()
    if exit_code != 0 or not psql_reading or child_process.error_lines(messages):
        reason = messages or f"psql stopped early with exit code {exit_code}"
        raise RestoreError(f"Restoring into {where} failed, and the database was left as it was: {reason}")


def _send(stdin: IO[bytes], data: bytes) -> bool:
    """Write to psql; False once psql has stopped reading (it exited after an error)."""
    try:
        stdin.write(data)
    except BrokenPipeError:
        return False
    return True


def _close_quietly(stdin: IO[bytes]) -> None:
    with contextlib.suppress(BrokenPipeError):
        stdin.close()


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None
    return stream
