"""Connection settings for the database to back up, parsed from one URL; the password never prints."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from shared.errors import ConfigurationError

Engine = Literal["mysql", "postgresql"]

_SCHEMES: dict[str, Engine] = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "postgresql": "postgresql",
    "postgres": "postgresql",
}
_DEFAULT_PORTS: dict[Engine, int] = {"mysql": 3306, "postgresql": 5432}
_SOCKET_PARAMS = ("unix_socket", "socket", "host")

URL_FORMS = (
    "mysql://USER:PASSWORD@HOST:PORT/DATABASE, postgresql://USER:PASSWORD@HOST:PORT/DATABASE, "
    "or with a unix socket: mysql://USER:PASSWORD@/DATABASE?unix_socket=/cloudsql/PROJECT:REGION:INSTANCE"
)


@dataclass(frozen=True)
class DatabaseURL:
    """Where the database is and how to log in. `repr` and `str` hide the password."""

    engine: Engine
    database: str
    user: str
    password: str = field(default="", repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    unix_socket: str | None = None

    def __post_init__(self) -> None:
        if not self.port:
            object.__setattr__(self, "port", _DEFAULT_PORTS[self.engine])

    @property
    def cloudsql_instance(self) -> str | None:
        """`PROJECT:REGION:INSTANCE` when connected through the Cloud SQL socket folder."""
        if self.unix_socket and self.unix_socket.startswith("/cloudsql/"):
            return self.unix_socket.removeprefix("/cloudsql/").split("/")[0]
        return None

    def with_password(self, password: str) -> DatabaseURL:
        return replace(self, password=password)

    def with_database(self, database: str) -> DatabaseURL:
        return replace(self, database=database)

    def redacted(self) -> str:
        """The URL as text with the password replaced by `***` (safe for logs and metadata)."""
        secret = ":***" if self.password else ""
        if self.unix_socket:
            return f"{self.engine}://{self.user}{secret}@/{self.database}?unix_socket={self.unix_socket}"
        return f"{self.engine}://{self.user}{secret}@{self.host}:{self.port}/{self.database}"

    def __str__(self) -> str:
        return self.redacted()


def parse_database_url(url: str, *, setting: str = "BACKUP_DATABASE_URL") -> DatabaseURL:
    """Parse a database URL; errors name `setting` and never echo the password."""
    if not url or not url.strip():
        raise ConfigurationError(f"{setting} is empty. Expected {URL_FORMS}")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{setting} is malformed ({_describe(exc)}). Expected {URL_FORMS}") from None
    engine = _SCHEMES.get(parts.scheme.lower())
    if engine is None:
        raise ConfigurationError(
            f"{setting} has unsupported scheme {parts.scheme!r}; use mysql://, mariadb:// or postgresql://"
        )
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise ConfigurationError(
            f"{setting} must name exactly one database in its path. Expected {URL_FORMS}"
        )
    query = parse_qs(parts.query)
    socket = next((query[name][0] for name in _SOCKET_PARAMS if name in query), None)
    if socket is not None and not socket.startswith("/"):
        raise ConfigurationError(f"{setting}: the unix socket must be an absolute path, got {socket!r}")
    unknown = set(query) - set(_SOCKET_PARAMS)
    if unknown:
        raise ConfigurationError(f"{setting} has unknown parameters: {', '.join(sorted(unknown))}")
    user = unquote(parts.username or "")
    if not user:
        raise ConfigurationError(f"{setting} must name a user, e.g. {parts.scheme}://USER@...")
    if socket is None and not parts.hostname:
        raise ConfigurationError(f"{setting} needs a host or a unix_socket parameter. Expected {URL_FORMS}")
    return DatabaseURL(
        engine=engine,
        database=database,
        user=user,
        password=unquote(parts.password or ""),
        host=parts.hostname or "localhost",
        port=port or 0,
        unix_socket=socket,
    )


def _describe(exc: ValueError) -> str:
    text = str(exc)
    if "port" in text.lower():
        return "bad port"
    return "cannot be parsed; percent-encode special characters in the user name and password"
