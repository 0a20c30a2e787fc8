"""How pg_dump, psql and our own connections reach the server, the password never as an argument."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

from shared.dburl import DatabaseURL

CONNECT_TIMEOUT_SECONDS = 15
APPLICATION_NAME = "db-backup-service"
KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "60",
    "keepalives_interval": "10",
    "keepalives_count": "6",
}
"""TCP keepalives (libpq's keywords; a unix socket ignores them): a server that goes silent without closing
the connection, as on a lost network path, is given up after about two minutes instead of the system's
two hours. A slow statement is not: the server's host answers the probes while its backend works."""


def libpq_environment(url: DatabaseURL, inherited: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: `inherited` without any PG* variable, plus this connection's settings.

    The password travels as PGPASSWORD in the child's environment only, never as an argument.
    """
    env = {key: value for key, value in inherited.items() if not key.startswith("PG")}
    env.update({_ENVIRONMENT_NAMES[keyword]: value for keyword, value in _settings(url).items()})
    return env


def keepalive_conninfo() -> str:
    """`KEEPALIVES` as the `--dbname` conninfo of pg_dump and psql, which take every other setting from
    `libpq_environment` (libpq has no environment variables for keepalives)."""
    return " ".join(f"{keyword}={value}" for keyword, value in KEEPALIVES.items())


def connection_parameters(url: DatabaseURL) -> dict[str, str]:
    """libpq's connection keywords for `url` (psycopg takes them too); `password` only when there is one.

    `options` and `sslmode` are always given: libpq reads PGOPTIONS and PGSSLMODE from our own
    environment for any keyword not given, and pg_dump's environment has no PG* variables, so our
    connections would otherwise differ from pg_dump's.
    """
    return {**_settings(url), **KEEPALIVES}


def _settings(url: DatabaseURL) -> dict[str, str]:
    """The keywords that also have an environment variable (`_ENVIRONMENT_NAMES`)."""
    host, port = _host_and_port(url)
    parameters = {
        "host": host,
        "port": str(port),
        "user": url.user,
        "dbname": url.database,
        "connect_timeout": str(CONNECT_TIMEOUT_SECONDS),
        "application_name": APPLICATION_NAME,
        "client_encoding": "UTF8",
        "options": "",
        "sslmode": url.tls,
    }
    if url.tls_ca_file:
        parameters["sslrootcert"] = url.tls_ca_file
    if url.password:
        parameters["password"] = url.password
    return parameters


_ENVIRONMENT_NAMES = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "dbname": "PGDATABASE",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "client_encoding": "PGCLIENTENCODING",
    "options": "PGOPTIONS",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "password": "PGPASSWORD",
}


def _host_and_port(url: DatabaseURL) -> tuple[str, int]:
    """A unix socket is given as its folder (`/cloudsql/PROJECT:REGION:INSTANCE`) or as the socket file."""
    if not url.unix_socket:
        return url.host, url.port
    socket = PurePosixPath(url.unix_socket)
    if socket.name.startswith(".s.PGSQL."):
        return str(socket.parent), int(socket.name.removeprefix(".s.PGSQL."))
    return str(socket), url.port
