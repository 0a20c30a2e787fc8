"""Who holds the locks a restore waited for: other sessions of the database, named for the person to end."""

from __future__ import annotations

import psycopg

HOLDERS_QUERY = """
SELECT a.pid, a.usename, a.application_name, a.state,
       floor(extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start)))::bigint AS seconds
  FROM pg_catalog.pg_stat_activity a
 WHERE a.datname = pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid()
   AND EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
                WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation')
 ORDER BY seconds DESC NULLS LAST, a.pid
 LIMIT 5
"""
"""No query text: another application's statements may hold data or passwords."""


def lock_holders(connection: psycopg.Connection[tuple[object, ...]]) -> str:
    """The sessions of the connection's database that hold table locks, longest first; the connection
    must not be inside a failed transaction."""
    rows = connection.execute(HOLDERS_QUERY).fetchall()
    if not rows:
        return "no session holds one now (it has ended)"
    return "; ".join(_session(*row) for row in rows)


def _session(pid: object, user: object, application: object, state: object, seconds: object) -> str:
    facts = [f"user {user!r}"]
    if application:
        facts.append(f"application {application!r}")
    if state:
        facts.append(f"{state} for {seconds} s" if seconds is not None else str(state))
    return f"session {pid} ({', '.join(facts)})"
