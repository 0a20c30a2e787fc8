"""A throwaway MariaDB server that offers TLS, for tests of encrypted connections (the local one has none).

The machine's own `mariadbd` runs from a new data directory, on a free port of 127.0.0.1 and of 127.0.0.2
(an address its self-signed certificate does not name); it is stopped by PID and its directory removed
afterwards. Where mariadbd or mariadb-install-db is missing,
the tests that use it are skipped with a loud reason, never faked."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest

from shared.dburl import DatabaseURL
from tests.databases import unique_name
from tests.fakes.tls_cert import UNNAMED_ADDRESS, TLSFiles, make_localhost_certificate
from tests.server_processes import free_port, stop

STARTUP_SECONDS = 30
SEARCHED_FOR_SERVER = "/usr/sbin:/usr/local/sbin"


@dataclass(frozen=True)
class TLSMariaDB:
    port: int
    socket: Path
    """Where root logs in without a password (the tests' own users log in over TCP, so with TLS)."""
    ca_file: Path
    """The server's self-signed certificate, which is its own certificate authority."""

    @contextmanager
    def admin(self) -> Iterator[pymysql.connections.Connection[Any]]:
        conn = pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def database(self, prefix: str, *, require_tls: bool = False) -> Iterator[DatabaseURL]:
        """An empty database and a user with every privilege on it (only on it), both dropped afterwards."""
        name, user, password = unique_name(prefix), unique_name("u"), "S3cret-" + unique_name("p")
        account = f"'{user}'@'127.0.0.1'"
        with self.admin() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            tls_clause = " REQUIRE SSL" if require_tls else ""
            cursor.execute(f"CREATE USER {account} IDENTIFIED BY '{password}'{tls_clause}")
            cursor.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO {account}")
        try:
            yield DatabaseURL(
                engine="mysql", database=name, user=user, password=password, host="127.0.0.1", port=self.port
            )
        finally:
            with self.admin() as conn, conn.cursor() as cursor:
                cursor.execute(f"DROP USER IF EXISTS {account}")
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


def _find(program: str) -> str | None:
    return shutil.which(program) or shutil.which(program, path=SEARCHED_FOR_SERVER)


def _as_user() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses to run as root unless told to


def _install(install_db: str, datadir: Path, log: Path) -> None:
    with log.open("wb") as output:
        done = subprocess.run(
            [install_db, "--no-defaults", f"--datadir={datadir}", *_as_user(), "--skip-test-db",
             "--skip-name-resolve", "--auth-root-authentication-method=normal"],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(
            f"mariadb-install-db failed ({done.returncode}):\n{log.read_text(errors='replace')[-2000:]}"
        )


def _start(mariadbd: str, directory: Path, tls: TLSFiles, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [mariadbd, "--no-defaults", *_as_user(), f"--datadir={directory / 'data'}",
         f"--socket={directory / 'mariadbd.sock'}", f"--pid-file={directory / 'mariadbd.pid'}",
         f"--log-error={directory / 'error.log'}", f"--bind-address=127.0.0.1,{UNNAMED_ADDRESS}",
         f"--port={port}",
         "--skip-log-bin", "--skip-name-resolve",
         f"--ssl-cert={tls.cert_path}", f"--ssl-key={tls.key_path}", f"--ssl-ca={tls.cert_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _answers(server: TLSMariaDB) -> bool:
    try:
        with server.admin() as conn, conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            return True
    except pymysql.MySQLError:
        return False


def _wait_until_it_answers(server: TLSMariaDB, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _answers(server):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no error log)"
            pytest.fail(f"the TLS MariaDB did not start on port {server.port}:\n{tail}")
        time.sleep(0.05)


def _check_it_offers_tls(server: TLSMariaDB, log: Path) -> None:
    with server.admin() as conn, conn.cursor() as cursor:
        cursor.execute("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")
        have_ssl = cursor.fetchone()[1]
    if have_ssl != "YES":
        tail = log.read_text(errors="replace")[-2000:]
        pytest.fail(f"the TLS MariaDB started without TLS (have_ssl {have_ssl}):\n{tail}")


@pytest.fixture(scope="session")
def tls_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSMariaDB]:
    mariadbd, install_db = _find("mariadbd"), _find("mariadb-install-db")
    if mariadbd is None or install_db is None:
        missing = "mariadbd" if mariadbd is None else "mariadb-install-db"
        pytest.skip(
            f"LOUD SKIP: TLS MariaDB tests NOT RUN because {missing} is missing; install the Debian package "
            "mariadb-server to run them"
        )
    directory = tmp_path_factory.mktemp("tls-mariadb")
    try:
        _install(install_db, directory / "data", directory / "install.log")
        certificate = make_localhost_certificate(directory)
        server = TLSMariaDB(free_port(), directory / "mariadbd.sock", certificate.cert_path)
        process = _start(mariadbd, directory, certificate, server.port)
        try:
            _wait_until_it_answers(server, process, directory / "error.log")
            _check_it_offers_tls(server, directory / "error.log")
            yield server
        finally:
            stop(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
