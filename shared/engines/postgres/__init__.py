"""PostgreSQL dump engine: the real pg_dump out, psycopg in; streamed, checked and version-aware."""

from shared.engines.postgres.engine import PostgresEngine

__all__ = ["PostgresEngine"]
