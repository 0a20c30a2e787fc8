"""Connection settings for the database to back up, parsed from one URL; the password never prints."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Literal, get_args
from urllib.parse import parse_qs, quote, unquote, urlsplit

from shared.errors import ConfigurationError

Engine = Literal["mysql", "postgresql"]
TLSMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]
"""libpq's `sslmode` words, for both engines. `prefer`: TLS when the server offers it, its certificate not
checked; `require`: TLS or no connection; `verify-ca`: and the certificate signed by `sslrootcert`;
`verify-full`: and issued for the host connected to."""
TLS_MODES: tuple[TLSMode, ...] = get_args(TLSMode)
VERIFYING_TLS_MODES: frozenset[TLSMode] = frozenset({"verify-ca", "verify-full"})
REQUIRED_TLS_MODES: frozenset[TLSMode] = VERIFYING_TLS_MODES | {"require"}
"""The modes that refuse a connection without TLS."""

_SCHEMES: dict[str, Engine] = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "postgresql": "postgresql",
    "postgres": "postgresql",
}
_DEFAULT_PORTS: dict[Engine, int] = {"mysql": 3306, "postgresql": 5432}
_SOCKET_PARAMS = ("unix_socket", "socket", "host")
_TLS_PARAMS = ("sslmode", "sslrootcert")

URL_FORMS = (
    "mysql://USER:PASSWORD@HOST:PORT/DATABASE, postgresql://USER:PASSWORD@HOST:PORT/DATABASE, "
    "or with a unix socket: mysql://USER:PASSWORD@/DATABASE?unix_socket=/cloudsql/PROJECT:REGION:INSTANCE; "
    "over TCP, ?sslmode=verify-full&sslrootcert=/path/to/server-ca.pem checks the server's certificate"
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
    tls: TLSMode = "prefer"
    tls_ca_file: str | None = None
    """The PEM file of the certificate authority that signed the server's certificate (`sslrootcert`)."""

    def __post_init__(self) -> None:
        if not self.port:
            object.__setattr__(self, "port", _DEFAULT_PORTS[self.engine])

    @property
    def cloudsql_instance(self) -> str | None:
        """`PROJECT:REGION:INSTANCE` when connected through the Cloud SQL socket folder."""
        if self.unix_socket and self.unix_socket.startswith("/cloudsql/"):
            return self.unix_socket.removeprefix("/cloudsql/").split("/")[0]
        return None

    @property
    def crosses_a_network(self) -> bool:
        """Whether the connection leaves this machine: a TCP host other than a loopback address."""
        if self.unix_socket or self.host == "localhost":
            return False
        try:
            return not ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return True  # a host name

    def with_password(self, password: str) -> DatabaseURL:
        return replace(self, password=password)

    def with_database(self, database: str) -> DatabaseURL:
        return replace(self, database=database)

    def redacted(self) -> str:
        """The URL as text with the password replaced by `***` (safe for logs and metadata)."""
        secret = ":***" if self.password else ""
        if self.unix_socket:
            tls = "" if self.tls == "prefer" else f"&sslmode={self.tls}"
            return f"{self.engine}://{self.user}{secret}@/{self.database}?unix_socket={self.unix_socket}{tls}"
        tls = "" if self.tls == "prefer" else f"?sslmode={self.tls}"
        if self.tls_ca_file:
            tls += f"&sslrootcert={quote(self.tls_ca_file)}"
        return f"{self.engine}://{self.user}{secret}@{self.host}:{self.port}/{self.database}{tls}"

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
    unknown = set(query) - set(_SOCKET_PARAMS) - set(_TLS_PARAMS)
    if unknown:
        raise ConfigurationError(
            f"{setting} has unknown parameters: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(_SOCKET_PARAMS + _TLS_PARAMS)})"
        )
    tls, tls_ca_file = _tls_settings(query, setting, over_socket=socket is not None)
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
        tls=tls,
        tls_ca_file=tls_ca_file,
    )


def _tls_settings(
    query: dict[str, list[str]], setting: str, *, over_socket: bool
) -> tuple[TLSMode, str | None]:
    mode_text = query.get("sslmode", ["prefer"])[0]
    mode = next((known for known in TLS_MODES if known == mode_text), None)
    if mode is None:
        raise ConfigurationError(f"{setting}: sslmode={mode_text!r} is not one of {', '.join(TLS_MODES)}")
    ca_file = query.get("sslrootcert", [None])[0]
    if over_socket and (mode in REQUIRED_TLS_MODES or ca_file):
        raise ConfigurationError(
            f"{setting}: sslmode={mode} needs a TCP host; a unix socket is not encrypted (the Cloud SQL "
            "socket's connector encrypts the way to the instance itself). Drop sslmode or use a host."
        )
    if ca_file is not None and not ca_file.startswith("/"):
        raise ConfigurationError(f"{setting}: sslrootcert must be an absolute path, got {ca_file!r}")
    if mode in VERIFYING_TLS_MODES and not ca_file:
        raise ConfigurationError(
            f"{setting}: sslmode={mode} needs sslrootcert=/path/to/ca.pem, the certificate of the authority "
            "that signed the server's certificate (for Cloud SQL: the instance's server CA certificate)"
        )
    if ca_file and mode not in VERIFYING_TLS_MODES:
        raise ConfigurationError(
            f"{setting}: sslrootcert is only used with sslmode=verify-ca or verify-full, not {mode}"
        )
    return mode, ca_file


def _describe(exc: ValueError) -> str:
    text = str(exc)
    if "port" in text.lower():
        return "bad port"
    return "cannot be parsed; percent-encode special characters in the user name and password"
