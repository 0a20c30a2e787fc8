"""The URL's sslmode reaches pg_dump and our own connections alike, and PG* variables in our environment
change neither."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpReport
from tests.databases import fresh_postgres_database
from tests.engines.postgres.database_state import database_state, engine, run_sql
from tests.engines.refusals import assert_every_operation_refused
from tests.fakes.tls_cert import UNNAMED_ADDRESS, make_localhost_certificate
from tests.tls_postgres import TLSPostgres
from tests.tls_postgres import tls_postgres as tls_postgres

ROWS = (
    "CREATE TABLE notes (id int PRIMARY KEY, body text);"
    " INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 500) g"
)


@pytest.fixture
def tls_databases(tls_postgres: TLSPostgres) -> Iterator[tuple[DatabaseURL, DatabaseURL]]:
    """A source database holding rows and an empty target, both reached over verified TLS."""
    names = [tls_postgres.new_database(), tls_postgres.new_database()]
    try:
        source, target = (tls_postgres.database_url(name) for name in names)
        run_sql(source, ROWS)
        yield source, target
    finally:
        for name in names:
            tls_postgres.drop_database(name)


@pytest.fixture
def foreign_authority(tmp_path: Path) -> str:
    """A CA certificate that did not sign the server's certificate."""
    return str(make_localhost_certificate(tmp_path).cert_path)


def test_backup_and_restore_run_over_verified_tls(tls_databases: tuple[DatabaseURL, DatabaseURL]) -> None:
    source, target = tls_databases  # the server refuses TCP logins without TLS
    engine(source).check_connection()
    dump = list(engine(source).dump(DumpReport()))
    engine(target).restore(dump)
    assert database_state(target) == database_state(source)


def test_our_environments_pg_variables_change_nothing(
    tls_databases: tuple[DatabaseURL, DatabaseURL], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = tls_databases
    with monkeypatch.context() as environment:
        environment.setenv("PGSSLMODE", "disable")  # would be refused by the server
        environment.setenv("PGOPTIONS", "-c default_transaction_read_only=on")  # would refuse every write
        dump = list(engine(source).dump(DumpReport()))
        engine(target).restore(dump)
    assert database_state(target) == database_state(source)


def test_a_certificate_from_another_authority_is_refused(
    tls_databases: tuple[DatabaseURL, DatabaseURL], foreign_authority: str
) -> None:
    source, _ = tls_databases
    refused = replace(source, tls_ca_file=foreign_authority)
    assert_every_operation_refused(engine(refused), "certificate verify failed")


def test_verify_full_checks_the_host_name_and_verify_ca_does_not(
    tls_databases: tuple[DatabaseURL, DatabaseURL],
) -> None:
    source, _ = tls_databases
    unnamed = replace(source, host=UNNAMED_ADDRESS)  # the same server, at an address its certificate lacks
    assert_every_operation_refused(engine(unnamed), "does not match host name")
    engine(replace(unnamed, tls="verify-ca")).check_connection()
    engine(replace(source, host="localhost")).check_connection()  # a name the certificate gives


def test_require_fails_against_a_server_without_tls() -> None:
    with fresh_postgres_database("pgnotls") as url:  # the machine's server has TLS off
        insisting = replace(url, host="127.0.0.1", unix_socket=None, tls="require")
        assert_every_operation_refused(engine(insisting), "does not support SSL")
