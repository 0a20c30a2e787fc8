"""A backup whose data crossed a network unencrypted says so in its report, for both engines."""

from __future__ import annotations

import os
import socket
from dataclasses import replace

import pytest

from shared.dburl import DatabaseURL, parse_database_url
from shared.engines.base import DumpReport, engine_for, plain_text_warning
from shared.engines.mysql.connection import connect, is_encrypted
from shared.engines.postgres.connection import libpq_environment
from shared.engines.postgres.server_facts import ServerFacts, ask_server
from shared.engines.postgres.tools import any_tools
from tests.databases import fresh_mysql_database, fresh_postgres_database
from tests.tls_mariadb import TLSMariaDB
from tests.tls_mariadb import tls_mariadb as tls_mariadb
from tests.tls_postgres import TLSPostgres
from tests.tls_postgres import tls_postgres as tls_postgres


@pytest.mark.parametrize(
    ("url", "crosses"),
    [
        ("mysql://u@10.1.2.3/x", True),
        ("mysql://u@db.internal/x", True),  # a name is not resolved: it may be anywhere
        ("mysql://u@127.0.0.1/x", False),
        ("mysql://u@127.0.0.2/x", False),
        ("mysql://u@localhost/x", False),
        ("postgresql://u@[::1]/x", False),
        ("mysql://u@/x?unix_socket=/cloudsql/p:r:i", False),
    ],
)
def test_which_connections_cross_a_network(url: str, crosses: bool) -> None:
    assert parse_database_url(url).crosses_a_network is crosses


def test_the_warning_is_given_only_for_prefer_without_tls_across_a_network() -> None:
    remote = parse_database_url("postgresql://u@10.1.2.3/x")
    warning = plain_text_warning(remote, encrypted=False, where="db")
    assert warning is not None and "not encrypted" in warning and "sslmode=require" in warning
    assert plain_text_warning(remote, encrypted=True, where="db") is None
    assert plain_text_warning(replace(remote, tls="disable"), encrypted=False, where="db") is None
    assert plain_text_warning(replace(remote, host="127.0.0.1"), encrypted=False, where="db") is None


def loopback_host_name() -> str:
    """This machine's name where it resolves to a loopback address: a URL host the service cannot tell
    from a remote one, which reaches the local servers."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        address = ""
    if not address.startswith("127."):
        pytest.skip(f"LOUD SKIP: the host name {name!r} does not resolve to a loopback address here")
    return name


def test_a_plain_dump_across_a_network_is_reported_by_both_engines() -> None:
    host = loopback_host_name()  # the local servers offer no TLS
    with fresh_mysql_database("pw") as mysql, fresh_postgres_database("pgpw") as postgres:
        for url in (mysql, replace(postgres, unix_socket=None)):
            report = DumpReport()
            list(engine_for(replace(url, host=host)).dump(report))
            assert any("was not encrypted" in warning for warning in report.warnings), url
            report = DumpReport()
            list(engine_for(url).dump(report))  # loopback: nothing to say
            assert not any("was not encrypted" in warning for warning in report.warnings), url


def test_encryption_is_read_off_each_engines_session(
    tls_mariadb: TLSMariaDB, tls_postgres: TLSPostgres
) -> None:
    with tls_mariadb.database("pe") as url:
        encrypted = connect(url)
        assert is_encrypted(encrypted)
        encrypted.close()
        plain = connect(replace(url, tls="disable"))
        assert not is_encrypted(plain)
        plain.close()
    name = tls_postgres.new_database()
    try:
        assert server_facts(tls_postgres.database_url(name)).encrypted
    finally:
        tls_postgres.drop_database(name)
    with fresh_postgres_database("pgpe") as local:
        assert not server_facts(replace(local, host="127.0.0.1", unix_socket=None)).encrypted


def server_facts(url: DatabaseURL) -> ServerFacts:
    return ask_server(any_tools(None, url.tls), libpq_environment(url, os.environ), url.database)
