"""The stock shell pipelines users run: `dump | gzip -1 > f` and `gunzip -c f | client db`."""

from __future__ import annotations

import shlex
from pathlib import Path

from benchmarks.servers import Server

PSQL_RESTORE_FLAGS = "-X -q -v ON_ERROR_STOP=1 --single-transaction"
"""One transaction, stopping at the first error: what our PostgreSQL restore guarantees (it runs the dump
over its own connection, without psql)."""


def backup_command(server: Server, database: str, target: Path) -> str:
    if server.engine == "mysql":
        dump = (
            f"mariadb-dump -h {server.host} -P {server.port} -u {server.user} "
            f"--single-transaction --quick {shlex.quote(database)}"
        )
    else:
        dump = f"pg_dump -h {server.host} -p {server.port} -U {server.user} {shlex.quote(database)}"
    return f"{dump} | gzip -1 > {shlex.quote(str(target))}"


def restore_command(server: Server, database: str, source: Path) -> str:
    if server.engine == "mysql":
        client = f"mariadb -h {server.host} -P {server.port} -u {server.user} {shlex.quote(database)}"
    else:
        client = (
            f"psql {PSQL_RESTORE_FLAGS} -h {server.host} -p {server.port} -U {server.user} "
            f"-d {shlex.quote(database)}"
        )
    return f"gunzip -c {shlex.quote(str(source))} | {client}"
