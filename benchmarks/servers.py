"""The local MariaDB and PostgreSQL servers the benchmark uses, and the `bench_suite_*` databases it makes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
import pymysql

from shared.dburl import DatabaseURL, Engine

MYSQL_HOST, MYSQL_PORT, MYSQL_USER = "127.0.0.1", 3306, "root"
POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER = "127.0.0.1", 5432, "postgres"
DATABASE_PREFIX = "bench_suite_"


@dataclass(frozen=True)
class Server:
    """One local server, addressed without a password (root over TCP on MariaDB, trust on PostgreSQL)."""

    engine: Engine
    host: str
    port: int
    user: str

    def url(self, database: str) -> DatabaseURL:
        return DatabaseURL(
            engine=self.engine, database=database, user=self.user, host=self.host, port=self.port
        )

    def create_database(self, label: str) -> str:
        """A new empty database named `bench_suite_<label>_<random>`."""
        name = f"{DATABASE_PREFIX}{label}_{uuid.uuid4().hex[:8]}"
        self.execute_admin(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            if self.engine == "mysql"
            else f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"
        )
        return name

    def drop_database(self, name: str) -> None:
        if not name.startswith(DATABASE_PREFIX):
            raise ValueError(
                f"refusing to drop {name!r}: the benchmark only drops its own {DATABASE_PREFIX}*"
            )
        self.execute_admin(
            f"DROP DATABASE IF EXISTS `{name}`"
            if self.engine == "mysql"
            else f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )

    def finish_pending_writes(self) -> None:
        """PostgreSQL: CHECKPOINT, so that every timed restore starts with nothing of an earlier run (or of
        the dataset build) left to flush. MariaDB has no such command; InnoDB flushes in the background."""
        if self.engine == "postgresql":
            self.execute_admin("CHECKPOINT")

    def execute_admin(self, statement: str) -> None:
        if self.engine == "mysql":
            connection = pymysql.connect(host=self.host, port=self.port, user=self.user, autocommit=True)
            try:
                with connection.cursor() as cursor:
                    cursor.execute(statement)
            finally:
                connection.close()
        else:
            with psycopg.connect(
                host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
            ) as connection:
                connection.execute(statement.encode())


MARIADB = Server("mysql", MYSQL_HOST, MYSQL_PORT, MYSQL_USER)
POSTGRES = Server("postgresql", POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER)
SERVERS: dict[str, Server] = {"mariadb": MARIADB, "postgresql": POSTGRES}
