"""Open PyMySQL connections from a `DatabaseURL` and turn driver errors into clear, password-free messages."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pymysql
import pymysql.cursors

from shared.dburl import VERIFYING_TLS_MODES, DatabaseURL
from shared.errors import ConfigurationError

CONNECT_TIMEOUT_SECONDS = 15
NETWORK_TIMEOUT_SECONDS = 900
"""A server silent for this long is taken as gone (no single dump read or restore statement waits so long)."""

_ACCESS_DENIED = 1045
_UNKNOWN_DATABASE = 1049
_DB_ACCESS_DENIED = 1044
_CANNOT_CONNECT = (2002, 2003, 2005, 2006)
_LOST_CONNECTION = (2013, 2006)
_QUERY_INTERRUPTED = (1317, 1927)
_LOCK_WAIT_TIMEOUT = 1205


type Connection = pymysql.connections.Connection[Any]


def connect(url: DatabaseURL, tls: Mapping[str, Any] | None = None) -> Connection:
    """A utf8mb4 autocommit connection whose text comes back as raw bytes (no decoding cost).

    Without `tls`, TLS as the URL's `sslmode` says (`tls_arguments`); a new TLS context costs ~30 ms.
    `same_tls_as` gives the `tls` that repeats an open connection's choice with its context.
    """
    if tls is None:
        tls = tls_arguments(url)
    return pymysql.connect(
        host=url.host,
        port=url.port,
        unix_socket=url.unix_socket,
        user=url.user,
        password=url.password,
        database=url.database,
        charset="utf8mb4",
        use_unicode=False,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=NETWORK_TIMEOUT_SECONDS,
        write_timeout=NETWORK_TIMEOUT_SECONDS,
        local_infile=False,
        **tls,
    )


def tls_arguments(url: DatabaseURL) -> dict[str, Any]:
    """PyMySQL's arguments for the URL's `sslmode`.

    `prefer` is PyMySQL's own default: TLS when the server offers it, its certificate not checked. The
    other modes give a TLS context, which PyMySQL then insists on: a server without TLS is refused.
    """
    if url.tls == "disable":
        return {"ssl_disabled": True}
    if url.tls == "prefer":
        return {}
    if url.tls not in VERIFYING_TLS_MODES:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return {"ssl": context}
    ca_file = Path(url.tls_ca_file or "")
    if not ca_file.is_file():
        raise ConfigurationError(
            f"The database URL's sslrootcert {str(ca_file)!r} is not a readable file; it must be the PEM "
            "certificate of the authority that signed the server's certificate."
        )
    try:
        context = ssl.create_default_context(cafile=str(ca_file))
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"The database URL's sslrootcert {str(ca_file)!r} holds no usable PEM certificate: {exc}"
        ) from None
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT  # as PyMySQL does: many servers' certificates fail it
    context.check_hostname = url.tls == "verify-full"
    return {"ssl": context}


def same_tls_as(connection: Connection) -> dict[str, Any]:
    """Arguments for `connect` that make a new connection to the same server use TLS exactly when
    `connection` does, and with its TLS context."""
    return {"ssl": connection.ctx} if is_encrypted(connection) else {"ssl_disabled": True}


def is_encrypted(connection: Connection) -> bool:
    """Whether the server says this session uses TLS."""
    cursor = connection.cursor()
    cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    row = cursor.fetchone()
    return bool(row and row[1])


def where(url: DatabaseURL) -> str:
    """The server's address as a person would name it (never includes the password)."""
    return f"socket {url.unix_socket}" if url.unix_socket else f"{url.host}:{url.port}"


def error_code(exc: BaseException) -> int:
    args: tuple[object, ...] = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def server_message(exc: BaseException) -> str:
    args: tuple[object, ...] = getattr(exc, "args", ())
    if len(args) >= 2:
        return f"{args[1]} (error {args[0]})"
    return str(exc) or type(exc).__name__


def describe_connection_error(exc: BaseException, url: DatabaseURL) -> str:
    """What went wrong while connecting or reading, and what to check; the password is never shown."""
    code = error_code(exc)
    text = server_message(exc).replace(url.password, "***") if url.password else server_message(exc)
    if code == _ACCESS_DENIED:
        return (
            f"MySQL at {where(url)} refused the login: access denied for user {url.user!r}. "
            "Check the user name and password in the database URL."
        )
    if code == _UNKNOWN_DATABASE:
        return f"MySQL at {where(url)} has no database {url.database!r}. Check the database name in the URL."
    if code == _DB_ACCESS_DENIED:
        return (
            f"User {url.user!r} may not use database {url.database!r} at {where(url)}: {text}. "
            "Grant the user access to that database."
        )
    if code in _CANNOT_CONNECT:
        return f"Cannot reach MySQL at {where(url)}: {text}. Check the host, port or socket and that it runs."
    if code in _LOST_CONNECTION:
        return f"The connection to MySQL at {where(url)} was lost: {text}."
    if code == _LOCK_WAIT_TIMEOUT:
        return (
            f"MySQL at {where(url)} kept a table from being read: {text}. Another session holds it "
            "(LOCK TABLES … WRITE, or DDL such as ALTER TABLE); let that finish, then try again."
        )
    if code in _QUERY_INTERRUPTED:
        return f"The server at {where(url)} interrupted the query (was it killed?): {text}."
    return f"MySQL at {where(url)} returned an error: {text}"
