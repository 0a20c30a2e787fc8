"""What the dump and restore need to know about the server, asked through psql."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from shared.engines.postgres.connection import keepalive_conninfo
from shared.engines.postgres.public_schema import STATE_QUERY, PublicSchema
from shared.engines.postgres.releases import major_release
from shared.engines.postgres.tools import ClientTools
from shared.errors import DumpError

_USER_TABLES = """
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
   AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""
FACTS_QUERY = f"""
SELECT current_setting('server_version_num'),
       current_setting('server_version'),
       (SELECT count(*) {_USER_TABLES}),
       coalesce((SELECT string_agg(format('%I.%I', n.nspname, c.relname), ', ' ORDER BY 1)
                 {_USER_TABLES} AND NOT has_table_privilege(c.oid, 'SELECT')), ''),
       coalesce((SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()), false),
       {STATE_QUERY}
"""


@dataclass(frozen=True)
class ServerFacts:
    version_num: int
    version: str
    table_count: int
    unreadable_tables: str
    """Tables the user may not SELECT from, comma-separated (empty when all are readable)."""
    encrypted: bool = False
    """Whether psql's session used TLS; pg_dump connects with the same tools and settings."""
    public_schema: PublicSchema = PublicSchema.AS_MADE

    @property
    def release(self) -> int:
        """The server's major release (`releases.major_release`)."""
        return major_release(self.version_num)


_KEEPALIVES = ("-d", keepalive_conninfo())


def ask_server(tools: ClientTools, env: dict[str, str], where: str) -> ServerFacts:
    """Connect with psql and read the server's version and its user tables; `where` names the database."""
    completed = subprocess.run(
        [tools.psql, "-X", "-q", "-A", "-t", "-z", "-v", "ON_ERROR_STOP=1", *_KEEPALIVES, "-c", FACTS_QUERY],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    stderr = completed.stderr.decode("utf-8", "replace").strip()
    fields = completed.stdout.decode("utf-8", "replace").rstrip("\n").split("\0")
    if completed.returncode != 0 or len(fields) != 6:
        raise DumpError(f"Cannot connect to or read the PostgreSQL database {where}: {stderr or 'no answer'}")
    return ServerFacts(
        int(fields[0]), fields[1], int(fields[2]), fields[3], fields[4] == "t", PublicSchema(fields[5])
    )
