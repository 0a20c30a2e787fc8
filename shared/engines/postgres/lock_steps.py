"""Commit a restore in steps when one transaction would hold more locks than the server can spare.

Every table, index, sequence and view a restore drops or creates stays locked until its transaction ends,
and the server's lock table holds max_locks_per_transaction × (max_connections + max_prepared_transactions)
locks for all its sessions together (6,400 by default). So a database of a few thousand tables cannot be
replaced in one transaction: the server answers "out of shared memory". Rather than refuse to restore a
good backup, the restore commits whenever its own locks pass a share of that table and goes on in a new
transaction. It is then no longer all-or-nothing: a failure after a step leaves the database incomplete,
and the restore service puts the pre-restore backup back.
"""

from __future__ import annotations

from typing import Any

import psycopg

LOCK_TABLE_SHARE = 2
"""The restore's own locks may fill at most 1/LOCK_TABLE_SHARE of the server's lock table."""
DROP_GROUP = 100
"""Relations dropped per statement when the database is cleared in steps."""

type Connection = psycopg.Connection[Any]

_LOCK_TABLE_SIZE = """
SELECT current_setting('max_locks_per_transaction')::int
       * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)
"""
_LOCKS_HELD = "SELECT count(*) FROM pg_catalog.pg_locks WHERE pid = pg_catalog.pg_backend_pid()"
_USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
_RELATION_COUNT = f"""
SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE {_USER_SCHEMAS}
"""
# Tables, views and the like that no extension owns (the extension's own DROP takes those); each one's
# indexes, sequences and dependent views go with it (CASCADE), and later names already gone are skipped.
_DROPPABLE_RELATIONS = f"""
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
       format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2
"""


class LockSteps:
    """Ends the restore's transaction whenever it holds more than `budget` locks (the server's share by
    default); `committed` says whether it did."""

    def __init__(self, connection: Connection, budget: int | None = None) -> None:
        self._connection = connection
        self.budget = lock_budget(connection) if budget is None else budget
        self.committed = False

    def checkpoint(self) -> None:
        row = self._connection.execute(_LOCKS_HELD).fetchone()
        if row is not None and int(row[0]) > self.budget:
            self._connection.commit()
            self.committed = True

    def too_many_to_drop_at_once(self) -> bool:
        """Whether dropping the database's relations in one go could pass the budget (each relation may
        bring a TOAST table and its index along)."""
        row = self._connection.execute(_RELATION_COUNT).fetchone()
        return row is not None and 2 * int(row[0]) > self.budget

    def drop_relations(self) -> None:
        """Drop every table, view and the like, a group at a time, committing as the locks require (large
        objects take no place in the lock table: 8,000 of them were cleared in one go)."""
        relations = self._connection.execute(_DROPPABLE_RELATIONS).fetchall()
        self._connection.execute("SET client_min_messages = warning")  # "does not exist, skipping"
        for start in range(0, len(relations), DROP_GROUP):
            group = relations[start : start + DROP_GROUP]
            for kind in sorted({kind for kind, _ in group}):
                names = ", ".join(name for each_kind, name in group if each_kind == kind)
                self._connection.execute(f"DROP {kind} IF EXISTS {names} CASCADE".encode())
            self.checkpoint()
        self._connection.execute("RESET client_min_messages")


def lock_budget(connection: Connection) -> int:
    """How many locks the restore's transaction may hold: a share of the server's lock table."""
    row = connection.execute(_LOCK_TABLE_SIZE).fetchone()
    assert row is not None
    return int(row[0]) // LOCK_TABLE_SHARE
