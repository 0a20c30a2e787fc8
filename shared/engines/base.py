"""The `DumpEngine` seam: dump a database to a byte stream, restore one from a byte stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shared.dburl import DatabaseURL


@dataclass
class DumpReport:
    """Facts gathered while dumping; complete only once the dump iterator is exhausted."""

    tables: dict[str, int] = field(default_factory=dict)
    """Each dumped table's name and the number of rows written for it."""
    warnings: list[str] = field(default_factory=list)
    server_version: str = ""
    readers: int = 1
    """How many connections shared the snapshot the data was read from."""


DUMP_LOCK_WAIT_SECONDS = 300
"""How long a dump waits to read a table another session holds exclusively (LOCK TABLES … WRITE, DDL such
as ALTER TABLE) before it fails and says so; pg_dump's `--lock-wait-timeout`."""
RESTORE_LOCK_WAIT_SECONDS = 60
"""How long a restore waits for a table another session holds (an open transaction, a long query) before
it fails, naming the sessions: a restore waiting for a lock makes every later query on that table wait too."""


@dataclass(frozen=True)
class DumpOptions:
    strip_definers: bool = False
    """Leave DEFINER clauses out (Cloud SQL imports need this)."""
    mysql_readers: int = 3
    """Connections that read a MySQL database's large tables at once (1: one, and no lock at all)."""
    postgres_restore_connections: int = 1
    """Connections that load a PostgreSQL restore's large tables at once (1: one transaction, all or nothing;
    more: the restore commits as it goes, and a failure leaves the database incomplete)."""
    dump_lock_wait_seconds: int = DUMP_LOCK_WAIT_SECONDS
    restore_lock_wait_seconds: int = RESTORE_LOCK_WAIT_SECONDS
    """How long a restore waits for a table another session holds before it fails."""


def plain_text_warning(url: DatabaseURL, encrypted: bool, where: str) -> str | None:
    """The report's warning when a dump's data crossed a network unencrypted because `sslmode=prefer`
    found no TLS; None when it did not (encrypted, a socket or loopback, or TLS refused on purpose)."""
    if encrypted or url.tls != "prefer" or not url.crosses_a_network:
        return None
    return (
        f"The connection to {where} was not encrypted: the server offers no TLS, so the backup's data "
        "crossed the network in plain text. Enable TLS on the server and add sslmode=require (or "
        "verify-ca with sslrootcert) to the database URL, so that a plain connection is refused."
    )


ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just handled."""


class DumpEngine(Protocol):
    """Dumps and restores one database. Implementations stream: memory stays flat as the data grows."""

    engine: str

    @property
    def restores_in_one_transaction(self) -> bool:
        """Whether a restore that fails or is stopped now leaves the database as it was (the server rolls
        it back), so that nothing needs putting back. It may turn False while a restore runs (asked from
        the thread that reads its chunks)."""
        ...

    def dump(self, report: DumpReport) -> Iterator[bytes]:
        """Yield the dump as plain SQL in chunks. Raises `DumpError` when the dump cannot be complete;
        the iterator never ends normally on a short dump."""
        ...

    def restore(self, chunks: Iterable[bytes]) -> None:
        """Replace the database's contents with the dump in `chunks`. Raises `RestoreError`."""
        ...

    def check_connection(self) -> None:
        """Raise `DumpError` with a clear message when the database cannot be reached or read, or a backup
        of it could not be complete (a user who may not see every object)."""
        ...

    def check_restore(self) -> None:
        """Raise `RestoreError` when a restore would be refused now before it changed anything (the user's
        privileges); changes nothing."""
        ...


def engine_for(
    url: DatabaseURL, options: DumpOptions | None = None, pg_bin_dir: Path | None = None
) -> DumpEngine:
    """The engine that serves `url`. `pg_bin_dir` overrides where PostgreSQL's client tools are found."""
    options = options or DumpOptions()
    if url.engine == "mysql":
        from shared.engines.mysql import MySQLEngine

        return MySQLEngine(url, options)
    from shared.engines.postgres import PostgresEngine

    return PostgresEngine(url, options, tools_dir=pg_bin_dir)
