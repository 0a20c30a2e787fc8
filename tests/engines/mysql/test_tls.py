"""On a server that offers TLS, every reader of a dump is encrypted, with the main connection's context."""

from __future__ import annotations

from dataclasses import dataclass

from shared.engines.base import DumpReport
from shared.engines.mysql import MySQLEngine
from shared.engines.mysql.connection import Connection
from shared.engines.mysql.snapshot import open_readers
from tests.engines.mysql.inventory import execute_script
from tests.engines.mysql.test_parallel_reads import BALANCE, ROWS, make_accounts, total_balance
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
