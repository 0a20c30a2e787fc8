"""Commit a restore in steps when one transaction would hold more locks than the server can spare.

Every table, index, sequence and view a restore drops or creates, and every routine and type it drops,
stays locked until its transaction ends, and the server's lock table holds max_locks_per_transaction ×
(max_connections + max_prepared_transactions) locks for all its sessions together (6,400 by default). So a
database of a few thousand tables, or of some ten thousand functions, cannot be replaced in one
transaction: the server answers "out of shared memory". Rather than refuse to restore a
good backup, the restore commits whenever its own locks pass a share of that table and goes on in a new
transaction. It is then no longer all-or-nothing: a failure after a step leaves the database incomplete,
and the restore service puts the pre-restore backup back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

LOCK_TABLE_SHARE = 2
"""The restore's own locks may fill at most 1/LOCK_TABLE_SHARE of the server's lock table."""
DROP_GROUP = 100
"""Objects dropped per statement when the database is cleared in steps."""

type Connection = psycopg.Connection[Any]

_LOCK_TABLE_SIZE = """
SELECT current_setting('max_locks_per_transaction')::int
       * (current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int)
"""
_LOCKS_HELD = "SELECT count(*) FROM pg_catalog.pg_locks WHERE pid = pg_catalog.pg_backend_pid()"
_USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
# Not a part of another object (an extension's member, a range type's constructor), which goes with it.
_ITS_OWN = """NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
     WHERE d.classid = '{catalog}'::regclass AND d.objid = {alias}.oid AND d.deptype IN ('e', 'i'))"""
# Locks that clearing the database in one go would take: a relation may bring a TOAST table and its index
# along, and a type its array type; every routine, type and relation is locked as it is dropped.
_LOCKS_TO_CLEAR = f"""
SELECT (SELECT 2 * count(*) FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS})
     + (SELECT count(*) FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE {_USER_SCHEMAS})
     + (SELECT 2 * count(*) FROM pg_catalog.pg_type t
          JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
         WHERE {_USER_SCHEMAS} AND t.typrelid = 0 AND t.typelem = 0)
"""
# Each query lists (DROP kind, name) pairs, in an order CASCADE can follow: relations take their indexes,
# sequences, dependent views and functions of their row types with them; routines go before the types
# they use; names already gone by then are skipped (IF EXISTS). An extension's members are left to the
# extension's own DROP, which the final DROP SCHEMA … CASCADE runs, and an object's parts to the object.
_DROPPABLE_RELATIONS = f"""
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
       format('%I.%I', n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
   AND {_ITS_OWN.format(catalog="pg_catalog.pg_class", alias="c")}
 ORDER BY 1, 2
"""
_DROPPABLE_ROUTINES = f"""
SELECT CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
       format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE {_USER_SCHEMAS} AND {_ITS_OWN.format(catalog="pg_catalog.pg_proc", alias="p")}
 ORDER BY 1, 2
"""
# Types of their own: domains, enums, ranges, composite types (not a table's row type) and base types;
# arrays and multiranges go with the type they belong to.
_DROPPABLE_TYPES = f"""
SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, format('%I.%I', n.nspname, t.typname)
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
 WHERE {_USER_SCHEMAS} AND t.typtype IN ('b', 'c', 'd', 'e', 'r') AND t.typelem = 0
   AND (t.typrelid = 0 OR c.relkind = 'c')
   AND {_ITS_OWN.format(catalog="pg_catalog.pg_type", alias="t")}
 ORDER BY 1, 2
"""


class LockSteps:
    """Ends the restore's transaction whenever it holds more than `budget` locks (the server's share by
    default); `committed` says whether it may have (a commit was sent), and `on_commit` hears it first."""

    def __init__(
        self, connection: Connection, budget: int | None = None, on_commit: Callable[[], None] = lambda: None
    ) -> None:
        self._connection = connection
        self.budget = lock_budget(connection) if budget is None else budget
        self.committed = False
        self._on_commit = on_commit

    def checkpoint(self) -> None:
        row = self._connection.execute(_LOCKS_HELD).fetchone()
        if row is not None and int(row[0]) > self.budget:
            self.committed = True  # even should the commit fail: it may have reached the server
            self._on_commit()
            self._connection.commit()

    def too_many_to_drop_at_once(self) -> bool:
        """Whether dropping the database's contents in one go could pass the budget."""
        row = self._connection.execute(_LOCKS_TO_CLEAR).fetchone()
        return row is not None and int(row[0]) > self.budget

    def drop_in_steps(self) -> None:
        """Drop every table, view and the like, then every routine, then every type, a group at a time,
        committing as the locks require (large objects take no place in the lock table: 8,000 of them were
        cleared in one go)."""
        self._connection.execute("SET client_min_messages = warning")  # "does not exist, skipping"
        for query in (_DROPPABLE_RELATIONS, _DROPPABLE_ROUTINES, _DROPPABLE_TYPES):
            self._drop_in_groups(self._connection.execute(query).fetchall())
        self._connection.execute("RESET client_min_messages")

    def _drop_in_groups(self, objects: list[tuple[str, str]]) -> None:
        for start in range(0, len(objects), DROP_GROUP):
            group = objects[start : start + DROP_GROUP]
            for kind in sorted({kind for kind, _ in group}):
                names = ", ".join(name for each_kind, name in group if each_kind == kind)
                self._connection.execute(f"DROP {kind} IF EXISTS {names} CASCADE".encode())
            self.checkpoint()


def lock_budget(connection: Connection) -> int:
    """How many locks the restore's transaction may hold: a share of the server's lock table."""
    row = connection.execute(_LOCK_TABLE_SIZE).fetchone()
    assert row is not None
    return int(row[0]) // LOCK_TABLE_SHARE
