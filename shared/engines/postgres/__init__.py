"""PostgreSQL dump engine: the real pg_dump and psql, streamed, checked and version-aware."""

from shared.engines.postgres.engine import PostgresEngine

__all__ = ["PostgresEngine"]
