"""What pg_dump's plain output leaves out about the `public` schema, and the SQL that puts it back.

pg_dump takes `public` as given: it never writes `CREATE SCHEMA public`, so a source that dropped it
gets it back wherever the dump is loaded (our restore recreates it as `initdb` makes it, and a fresh
database has it), and with `--quote-all-identifiers` pg_dump 15 also leaves out the `COMMENT … IS ''` of
a `public` whose comment was removed. The backup adds these statements, which the stock `psql` runs too.
"""

from __future__ import annotations

from enum import Enum


class PublicSchema(Enum):
    """The source's `public` schema, as far as pg_dump's output cannot tell it."""

    AS_MADE = "as_made"
    """Present, with a comment (pg_dump writes it unless it is the default one)."""
    UNCOMMENTED = "uncommented"
    ABSENT = "absent"


STATE_QUERY = (
    "coalesce((SELECT CASE WHEN pg_catalog.obj_description(oid, 'pg_namespace') IS NULL "
    f"THEN '{PublicSchema.UNCOMMENTED.value}' ELSE '{PublicSchema.AS_MADE.value}' END "
    "FROM pg_catalog.pg_namespace WHERE nspname = 'public'), "
    f"'{PublicSchema.ABSENT.value}')"
)
"""A scalar SQL expression whose text is the `PublicSchema` value of the database it runs in."""

_STATEMENTS = {
    PublicSchema.AS_MADE: b"",
    PublicSchema.UNCOMMENTED: (
        b'-- The source\'s "public" schema has no comment (pg_dump leaves that out).\n'
        b'COMMENT ON SCHEMA "public" IS NULL;\n\n'
    ),
    PublicSchema.ABSENT: (
        b'-- The source has no "public" schema (pg_dump leaves that out).\n'
        b'DROP SCHEMA "public";\n\n'
    ),
}


def restoring_statements(state: PublicSchema) -> bytes:
    """The SQL that gives a restored database's `public` schema the source's `state` (may be empty)."""
    return _STATEMENTS[state]
