"""On a server that offers TLS, every reader of a dump is encrypted, with the main connection's context;
the URL's sslmode decides whether TLS is used and how the server's certificate is checked."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpReport
from shared.engines.mysql import MySQLEngine
from shared.engines.mysql.connection import Connection
from shared.engines.mysql.snapshot import open_readers
from shared.errors import ConfigurationError, DumpError
from tests.databases import fresh_mysql_database
from tests.engines.mysql.inventory import execute_script
from tests.engines.mysql.test_parallel_reads import BALANCE, ROWS, make_accounts, total_balance
from tests.engines.refusals import assert_every_operation_refused
from tests.fakes.tls_cert import UNNAMED_ADDRESS, make_localhost_certificate
from tests.tls_mariadb import TLSMariaDB
from tests.tls_mariadb import tls_mariadb as tls_mariadb


@dataclass(frozen=True)
class ConnectionCounts:
    opened: int
    encrypted: int

    def __sub__(self, earlier: ConnectionCounts) -> ConnectionCounts:
        return ConnectionCounts(self.opened - earlier.opened, self.encrypted - earlier.encrypted)


def connection_counts(admin: Connection) -> ConnectionCounts:
    """Connections the server has accepted so far, and how many of them completed a TLS handshake."""
    cursor = admin.cursor()
    cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Connections', 'Ssl_finished_accepts')")
    status = dict(cursor.fetchall())
    return ConnectionCounts(int(status["Connections"]), int(status["Ssl_finished_accepts"]))


def cipher(connection: Connection) -> str:
    cursor = connection.cursor()
    cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    return str(cursor.fetchone()[1], "ascii")  # the connection returns raw bytes


def test_the_extra_readers_are_encrypted_with_the_main_connections_tls_context(
    tls_mariadb: TLSMariaDB,
) -> None:
    with tls_mariadb.database("tt") as url:
        execute_script(url, ["CREATE TABLE small (id INT PRIMARY KEY)", "INSERT INTO small VALUES (1)"])
        readers = open_readers(url, 3)
        try:
            assert len(readers.extra) == 2
            ciphers = [cipher(connection) for connection in (readers.main, *readers.extra)]
            assert all(ciphers)
            assert all(extra.ctx is readers.main.ctx for extra in readers.extra)
        finally:
            readers.close()


def test_a_dump_over_tls_reads_with_three_encrypted_readers_and_restores(tls_mariadb: TLSMariaDB) -> None:
    with tls_mariadb.database("td") as url, tls_mariadb.database("tdr") as target:
        make_accounts(url)
        report = DumpReport()
        with tls_mariadb.admin() as admin:
            before = connection_counts(admin)
            chunks = list(MySQLEngine(url).dump(report))
            dump_connections = connection_counts(admin) - before
        assert report.readers == 3 and report.tables == {"accounts": ROWS}
        assert dump_connections.opened >= 4  # three readers and the lock holder
        assert dump_connections.encrypted == dump_connections.opened
        MySQLEngine(target).restore(chunks)
        assert total_balance(target) == (ROWS, ROWS * BALANCE)


def test_a_user_that_must_use_tls_still_gets_three_readers(tls_mariadb: TLSMariaDB) -> None:
    with tls_mariadb.database("ts", require_tls=True) as url:
        execute_script(url, ["CREATE TABLE small (id INT PRIMARY KEY)", "INSERT INTO small VALUES (1), (2)"])
        report = DumpReport()
        b"".join(MySQLEngine(url).dump(report))
        assert report.readers == 3 and report.tables == {"small": 2}


def test_verify_full_with_the_servers_authority_dumps_and_restores(tls_mariadb: TLSMariaDB) -> None:
    with tls_mariadb.database("tv", require_tls=True) as url, tls_mariadb.database("tvr") as target:
        make_accounts(url)
        verified = replace(url, tls="verify-full", tls_ca_file=str(tls_mariadb.ca_file))
        MySQLEngine(verified).check_connection()
        chunks = list(MySQLEngine(verified).dump(DumpReport()))
        MySQLEngine(replace(target, tls="verify-full", tls_ca_file=str(tls_mariadb.ca_file))).restore(chunks)
        assert total_balance(target) == (ROWS, ROWS * BALANCE)


def test_a_certificate_from_another_authority_is_refused(tls_mariadb: TLSMariaDB, tmp_path: Path) -> None:
    foreign = str(make_localhost_certificate(tmp_path).cert_path)
    with tls_mariadb.database("tf") as url:
        refused = replace(url, tls="verify-ca", tls_ca_file=foreign)
        assert_every_operation_refused(MySQLEngine(refused), "certificate verify failed")


def test_verify_full_checks_the_host_name_and_verify_ca_does_not(tls_mariadb: TLSMariaDB) -> None:
    with tls_mariadb.database("th") as url:
        unnamed = replace(url, host=UNNAMED_ADDRESS, tls="verify-full", tls_ca_file=str(tls_mariadb.ca_file))
        with pytest.raises(DumpError, match="IP address mismatch"):
            MySQLEngine(unnamed).check_connection()
        MySQLEngine(replace(unnamed, tls="verify-ca")).check_connection()


def test_disable_sends_no_tls_even_when_the_server_offers_it(tls_mariadb: TLSMariaDB) -> None:
    with tls_mariadb.database("tn", require_tls=True) as url:
        with pytest.raises(DumpError, match="access denied"):  # this user may only log in over TLS
            MySQLEngine(replace(url, tls="disable")).check_connection()
        MySQLEngine(replace(url, tls="require")).check_connection()


def test_require_fails_against_a_server_without_tls() -> None:
    with fresh_mysql_database("tr") as url:  # the machine's server has TLS disabled
        insisting = replace(url, tls="require")
        assert_every_operation_refused(MySQLEngine(insisting), "SSL is required but the server doesn't")


def test_a_missing_authority_file_is_named() -> None:
    url = DatabaseURL(
        engine="mysql", database="x", user="u", tls="verify-ca", tls_ca_file="/nonexistent/ca.pem"
    )
    with pytest.raises(ConfigurationError, match=r"'/nonexistent/ca\.pem' is not a readable file"):
        MySQLEngine(url).check_connection()


def test_an_authority_file_without_a_certificate_is_named(tmp_path: Path) -> None:
    not_a_certificate = tmp_path / "ca.pem"
    not_a_certificate.write_text("this is not PEM\n")
    url = DatabaseURL(
        engine="mysql", database="x", user="u", tls="verify-full", tls_ca_file=str(not_a_certificate)
    )
    with pytest.raises(ConfigurationError, match="holds no usable PEM certificate"):
        MySQLEngine(url).check_connection()
