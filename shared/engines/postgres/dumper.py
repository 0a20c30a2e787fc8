"""Stream a plain-SQL dump out of the real pg_dump, failing loudly on anything short of complete."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from shared.engines.base import DUMP_LOCK_WAIT_SECONDS, DumpReport
from shared.engines.postgres import child_process
from shared.engines.postgres.connection import keepalive_conninfo
from shared.engines.postgres.dump_scanner import PlainDumpScanner
from shared.engines.postgres.public_schema import restoring_statements
from shared.engines.postgres.server_facts import ServerFacts
from shared.engines.postgres.tools import ClientTools
from shared.errors import DumpError

CHUNK_SIZE = 1024 * 1024
_LOCK_WAIT_ENDED = re.compile(r"statement timeout.*\n.*Query was: LOCK TABLE ", re.IGNORECASE)
"""How pg_dump fails when its --lock-wait-timeout passes (it sets statement_timeout around each LOCK)."""
PG_DUMP_FLAGS = (
    "--format=plain",
    "--no-owner",
    "--no-privileges",
    "--blobs",
    "--quote-all-identifiers",
    "--encoding=UTF8",
    "--no-password",
)


def dump_stream(
    tools: ClientTools,
    env: dict[str, str],
    facts: ServerFacts,
    where: str,
    report: DumpReport,
    lock_wait_seconds: int = DUMP_LOCK_WAIT_SECONDS,
) -> Iterator[bytes]:
    """Yield pg_dump's output in ~1 MiB chunks; fill `report`; raise `DumpError` unless it is complete."""
    report.server_version = facts.version
    scanner = PlainDumpScanner(facts.release, restoring_statements(facts.public_schema))
    flags = (*PG_DUMP_FLAGS, f"--lock-wait-timeout={lock_wait_seconds}s", f"--dbname={keepalive_conninfo()}")
    process = child_process.start([tools.pg_dump, *flags], env)
    stderr = child_process.StderrCollector(_pipe(process.stderr))
    stdout = _pipe(process.stdout)
    total = 0
    try:
        while chunk := stdout.read(CHUNK_SIZE):
            total += len(chunk)
            if adapted := scanner.feed(chunk):
                yield adapted
        if last_line := scanner.finish():
            yield last_line
        exit_code = process.wait()
    finally:
        child_process.stop(process)
    messages = stderr.text()
    _fail_unless_complete(exit_code, messages, total, scanner, facts, where, tools, lock_wait_seconds)
    report.warnings.extend(line for line in messages.splitlines() if "warning:" in line.lower())
    report.tables.update(scanner.rows)


def _fail_unless_complete(
    exit_code: int,
    messages: str,
    total: int,
    scanner: PlainDumpScanner,
    facts: ServerFacts,
    where: str,
    tools: ClientTools,
    lock_wait_seconds: int,
) -> None:
    errors = child_process.error_lines(messages)
    if exit_code != 0 or errors:
        cause = f"exit code {exit_code}" if exit_code >= 0 else f"killed by signal {-exit_code}"
        failure = f"pg_dump {tools.version} failed for {where} ({cause}): {messages or 'no message'}"
        if _LOCK_WAIT_ENDED.search(messages):
            failure += (
                "\nAnother session held a table exclusively (LOCK TABLE, DDL such as ALTER TABLE, VACUUM "
                f"FULL) longer than the dump waits ({lock_wait_seconds} s); let that finish, then try again."
            )
        raise DumpError(failure)
    if total == 0:
        raise DumpError(f"pg_dump produced an empty dump of {where}; the backup is not usable.")
    if scanner.unreadable is not None:
        raise DumpError(f"The dump of {where} cannot be restored as pg_dump wrote it: {scanner.unreadable}.")
    if facts.table_count > 0 and not scanner.rows:
        raise DumpError(
            f"The dump of {where} holds no table data although the database has {facts.table_count} "
            "tables; check the database name and the user's privileges."
        )


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None
    return stream
