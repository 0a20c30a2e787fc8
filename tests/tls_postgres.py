"""A throwaway PostgreSQL server that takes TCP connections only over TLS (the local one has no TLS).

The machine's own `postgres` binaries run a new cluster from a fresh directory, on a free port, with a
self-signed certificate for 127.0.0.1 (it also listens on 127.0.0.2, which that
certificate does not name); `pg_hba.conf` accepts TCP logins only with TLS (`hostssl`), so a
connection that succeeds over TCP was encrypted. Run as the `postgres` OS user when the tests run as root
(PostgreSQL refuses to run as root). Where the binaries are missing, the tests are skipped loudly.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from shared.dburl import DatabaseURL
from tests.databases import unique_name
from tests.fakes.tls_cert import UNNAMED_ADDRESS, make_localhost_certificate
from tests.server_processes import free_port, stop

STARTUP_SECONDS = 30
BINARY_FOLDERS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
PG_HBA = """\
local all all trust
hostssl all all 127.0.0.0/8 trust
hostnossl all all 127.0.0.0/8 reject
"""


@dataclass(frozen=True)
class TLSPostgres:
    port: int
    socket_folder: Path
    ca_file: Path
    """The server's self-signed certificate, which is its own certificate authority."""

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=str(self.socket_folder), port=self.port, user="postgres", autocommit=True)

    def database_url(self, name: str) -> DatabaseURL:
        """`name` over TCP, verifying the server's certificate and host name."""
        return DatabaseURL(
            engine="postgresql",
            database=name,
            user="postgres",
            host="127.0.0.1",
            port=self.port,
            tls="verify-full",
            tls_ca_file=str(self.ca_file),
        )

    def new_database(self) -> str:
        name = unique_name("pgtls")
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return name

    def drop_database(self, name: str) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@dataclass(frozen=True)
class Account:
    """Whom a PostgreSQL program runs as: the `postgres` user when we are root, else ourselves (None)."""

    user: int | None
    group: int | None
    extra_groups: list[int] | None


def _postgres_account() -> Account:
    if os.geteuid() != 0:
        return Account(None, None, None)
    account = pwd.getpwnam("postgres")
    return Account(account.pw_uid, account.pw_gid, [])


def _owned_by_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(path, account.pw_uid, account.pw_gid)


def _initdb(binaries: Path, data: Path, log: Path) -> None:
    runner = _postgres_account()
    with log.open("wb") as output:
        done = subprocess.run(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-sync", "--no-instructions"],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False,
            user=runner.user, group=runner.group, extra_groups=runner.extra_groups,
        )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"initdb failed ({done.returncode}):\n{log.read_text(errors='replace')[-2000:]}")


def _start(binaries: Path, directory: Path, port: int) -> subprocess.Popen[bytes]:
    data, runner = directory / "data", _postgres_account()
    (data / "pg_hba.conf").write_text(PG_HBA)
    return subprocess.Popen(
        [str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-k", str(directory),
         "-c", f"listen_addresses=127.0.0.1,{UNNAMED_ADDRESS}", "-c", "ssl=on",
         "-c", f"ssl_cert_file={directory / 'cert.pem'}", "-c", f"ssl_key_file={directory / 'key.pem'}",
         "-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", f"log_directory={directory}",
         "-c", "logging_collector=off"],
        stdout=(directory / "server.log").open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        user=runner.user, group=runner.group, extra_groups=runner.extra_groups,
    )  # fmt: skip


def _wait_until_it_answers(server: TLSPostgres, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            with server.admin() as conn:
                conn.execute(b"SELECT 1")
            return
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"the TLS PostgreSQL did not start on port {server.port}:\n{log.read_text()[-2000:]}"
                )
            time.sleep(0.05)


@pytest.fixture(scope="session")
def tls_postgres() -> Iterator[TLSPostgres]:
    binaries = next((folder for folder in BINARY_FOLDERS if (folder / "initdb").exists()), None)
    if binaries is None:
        pytest.skip(
            "LOUD SKIP: TLS PostgreSQL tests NOT RUN because initdb is missing; install the Debian package "
            "postgresql to run them"
        )
    directory = Path(tempfile.mkdtemp(prefix="tls-postgres-"))  # not under pytest's root-only folders
    try:
        _owned_by_postgres(directory)
        certificate = make_localhost_certificate(directory)
        for path in (certificate.cert_path, certificate.key_path):
            path.chmod(0o600)
            _owned_by_postgres(path)
        _initdb(binaries, directory / "data", directory / "initdb.log")
        server = TLSPostgres(port=free_port(), socket_folder=directory, ca_file=certificate.cert_path)
        process = _start(binaries, directory, server.port)
        try:
            _wait_until_it_answers(server, process, directory / "server.log")
            yield server
        finally:
            stop(process)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
