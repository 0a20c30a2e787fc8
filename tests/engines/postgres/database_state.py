"""What a restored PostgreSQL database must match: row hashes per table and schema definitions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from shared.dburl import DatabaseURL
from shared.engines.base import DumpOptions, DumpReport
from shared.engines.postgres import PostgresEngine

USER_SCHEMAS = "n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"

CATALOG_QUERIES: dict[str, str] = {
    "schemas": f"""SELECT n.nspname, obj_description(n.oid, 'pg_namespace') FROM pg_namespace n
                   WHERE {USER_SCHEMAS}""",
    "tables": f"""SELECT n.nspname, c.relname, c.relkind FROM pg_class c
                  JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE {USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')""",
    "columns": f"""SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
                          a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                   WHERE {USER_SCHEMAS} AND a.attnum > 0 AND NOT a.attisdropped""",
    "views": f"""SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid),
                        CASE WHEN c.relkind = 'm' THEN c.relispopulated END
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE {USER_SCHEMAS} AND c.relkind IN ('v', 'm')""",
    "indexes": "SELECT schemaname, tablename, indexdef FROM pg_indexes "
    "WHERE schemaname <> 'information_schema' AND schemaname !~ '^pg_'",
    "constraints": f"""SELECT n.nspname, conrelid::regclass::text, contypid::regtype::text, conname,
                              pg_get_constraintdef(k.oid)
                       FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
                       WHERE {USER_SCHEMAS}""",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
    "WHERE NOT tgisinternal",
    "functions": f"""SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid)
                     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE {USER_SCHEMAS} AND p.prokind IN ('f', 'p')
                       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                       WHERE d.objid = p.oid AND d.deptype = 'e')""",
    "sequences": "SELECT schemaname, sequencename, last_value, increment_by FROM pg_sequences",
    "types": f"""SELECT n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod),
                        (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                         FROM pg_enum e WHERE e.enumtypid = t.oid)
                 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE {USER_SCHEMAS} AND t.typtype IN ('e', 'd')""",
    "extensions": "SELECT extname, extversion FROM pg_extension",
    "large_objects": "SELECT oid::bigint, md5(lo_get(oid)) FROM pg_largeobject_metadata",
}


@dataclass(frozen=True)
class DatabaseState:
    """Everything compared between a source database and its restored copy."""

    rows: dict[str, tuple[str, int]]
    catalog: dict[str, list[tuple[object, ...]]]


def connect(url: DatabaseURL) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=url.unix_socket or url.host, port=url.port, user=url.user, dbname=url.database, autocommit=True
    )


def run_sql(url: DatabaseURL, statements: str) -> None:
    with connect(url) as conn:
        conn.execute(statements.encode())


def database_state(url: DatabaseURL) -> DatabaseState:
    with connect(url) as conn:
        catalog = {
            name: sorted(conn.execute(query.encode()).fetchall(), key=repr)
            for name, query in CATALOG_QUERIES.items()
        }
        tables = conn.execute(
            f"""SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE {USER_SCHEMAS} AND c.relkind = 'r'""".encode()
        ).fetchall()
        rows: dict[str, tuple[str, int]] = {}
        for schema, table in tables:
            query = sql.SQL(
                "SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), ''), count(*) FROM {} t"
            ).format(sql.Identifier(str(schema), str(table)))
            found = conn.execute(query).fetchone()
            assert found is not None
            rows[f"{schema}.{table}"] = (str(found[0]), int(str(found[1])))
    return DatabaseState(rows, catalog)


def engine(url: DatabaseURL) -> PostgresEngine:
    return PostgresEngine(url, DumpOptions())


def dump_to_bytes(url: DatabaseURL) -> tuple[list[bytes], DumpReport]:
    report = DumpReport()
    return list(engine(url).dump(report)), report


def chunks_of(data: bytes, size: int) -> Iterable[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]
