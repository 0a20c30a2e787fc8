"""How the client tools reach the server: libpq environment variables, never command-line secrets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath

from shared.dburl import DatabaseURL

CONNECT_TIMEOUT_SECONDS = 15
APPLICATION_NAME = "db-backup-service"


def libpq_environment(url: DatabaseURL, inherited: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: `inherited` without any PG* variable, plus this connection's settings.

    The password travels as PGPASSWORD in the child's environment only, never as an argument.
    """
    env = {key: value for key, value in inherited.items() if not key.startswith("PG")}
    host, port = _host_and_port(url)
    env.update(
        PGHOST=host,
        PGPORT=str(port),
        PGUSER=url.user,
        PGDATABASE=url.database,
        PGCONNECT_TIMEOUT=str(CONNECT_TIMEOUT_SECONDS),
        PGAPPNAME=APPLICATION_NAME,
        PGCLIENTENCODING="UTF8",
    )
    if url.password:
        env["PGPASSWORD"] = url.password
    return env


def _host_and_port(url: DatabaseURL) -> tuple[str, int]:
    """A unix socket is given as its folder (`/cloudsql/PROJECT:REGION:INSTANCE`) or as the socket file."""
    if not url.unix_socket:
        return url.host, url.port
    socket = PurePosixPath(url.unix_socket)
    if socket.name.startswith(".s.PGSQL."):
        return str(socket.parent), int(socket.name.removeprefix(".s.PGSQL."))
    return str(socket), url.port
