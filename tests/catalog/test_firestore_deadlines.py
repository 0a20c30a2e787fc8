"""`FirestoreCatalog` fails within its deadline (`BACKUP_CATALOG_TIMEOUT_SECONDS`) when Firestore does not
answer, naming what it was doing: a real client pointed at a server that never answers, or at a closed
port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from shared.catalog.firestore import FirestoreCatalog
from shared.clock import FixedClock
from shared.config import Config
from shared.errors import CatalogUnavailableError
from shared.models import AuditAction, BackupLog, BackupSettings
from shared.wiring import build_catalog, build_firestore_client
from tests.catalog.strategies import BASE_TIME, make_backup
from tests.emulators.firestore import PROJECT, FirestoreEmulator

DEADLINE = 1
"""Seconds: BACKUP_CATALOG_TIMEOUT_SECONDS in these tests."""
BOUND = 10
"""Seconds a call may take at most with that deadline."""
HOUR = timedelta(hours=1)


@dataclass
class Blackhole:
    """A TCP server that accepts every connection and never sends a byte."""

    listener: socket.socket
    connections: list[socket.socket] = field(default_factory=list)

    @property
    def host(self) -> str:
        address, port = self.listener.getsockname()
        return f"{address}:{port}"

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    listener = socket.create_server(("127.0.0.1", 0))
    server = Blackhole(listener)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=10)
        for connection in server.connections:
            connection.close()


@pytest.fixture
def closed_port() -> Iterator[str]:
    """host:port of a port held bound but not listening, so every connection to it is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        address, port = held.getsockname()
        yield f"{address}:{port}"


def _config(emulator_host: str, timeout: str = str(DEADLINE)) -> Config:
    return Config.from_env({
        "BACKUP_CATALOG": "firestore",
        "BACKUP_GCP_PROJECT": PROJECT,
        "BACKUP_FIRESTORE_EMULATOR_HOST": emulator_host,
        "BACKUP_CATALOG_TIMEOUT_SECONDS": timeout,
    })


def _catalog_at(host: str) -> Iterator[FirestoreCatalog]:
    config = _config(host)
    client = build_firestore_client(config)
    try:
        yield FirestoreCatalog(client, deadline_seconds=config.catalog_timeout_seconds)
    finally:
        client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def silent_catalog(blackhole: Blackhole) -> Iterator[FirestoreCatalog]:
    yield from _catalog_at(blackhole.host)


@pytest.fixture
def refused_catalog(closed_port: str) -> Iterator[FirestoreCatalog]:
    yield from _catalog_at(closed_port)


type Call = Callable[[FirestoreCatalog], object]

REQUIRED: list[tuple[str, Call, str]] = [
    ("get_backup", lambda catalog: catalog.get_backup("b1"), "reading backup 'b1'"),
    ("list_backups", lambda catalog: catalog.list_backups(), "listing backups"),
    ("add_backup", lambda catalog: catalog.add_backup(make_backup("b1")), "adding backup 'b1'"),
    (
        "acquire_lock",
        lambda catalog: catalog.acquire_lock("db-x", "run-1", BASE_TIME, HOUR),
        "taking lock 'db-x'",
    ),
]
OTHERS: list[tuple[str, Call, str]] = [
    ("update_backup", lambda catalog: catalog.update_backup(make_backup("b1")), "updating backup 'b1'"),
    ("delete_backup", lambda catalog: catalog.delete_backup("b1"), "deleting backup 'b1'"),
    ("get_settings", lambda catalog: catalog.get_settings(), "reading the settings"),
    ("save_settings", lambda catalog: catalog.save_settings(BackupSettings()), "saving the settings"),
    (
        "add_log",
        lambda catalog: catalog.add_log(BackupLog("ops", AuditAction.CREATE, BASE_TIME, "b1")),
        "adding an audit entry",
    ),
    ("list_logs", lambda catalog: catalog.list_logs(), "listing the audit log"),
    ("release_lock", lambda catalog: catalog.release_lock("db-x", "run-1"), "releasing lock 'db-x'"),
    (
        "claim_run",
        lambda catalog: catalog.claim_run("sched:1", "run-1", BASE_TIME, HOUR),
        "claiming run 'sched:1'",
    ),
    (
        "finish_run",
        lambda catalog: catalog.finish_run("sched:1", "run-1", "b1", succeeded=True),
        "finishing run 'sched:1'",
    ),
]


def _ids(calls: list[tuple[str, Call, str]]) -> list[str]:
    return [name for name, _, _ in calls]


def _fails_in_time(catalog: FirestoreCatalog, call: Call, doing: str) -> CatalogUnavailableError:
    """Fails as unavailable (HTTP 503, try again later), a storage failure to whoever catches those."""
    started = time.monotonic()
    with pytest.raises(CatalogUnavailableError) as info:
        call(catalog)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"took {elapsed:.1f} s with a {DEADLINE} s deadline"
    message = str(info.value)
    assert f"the catalog (Firestore) did not answer within {DEADLINE} s while {doing}" in message
    assert "BACKUP_CATALOG_TIMEOUT_SECONDS" in message
    assert info.value.retry_after_seconds == 30
    return info.value


@pytest.mark.parametrize(("name", "call", "doing"), REQUIRED + OTHERS, ids=_ids(REQUIRED + OTHERS))
def test_a_server_that_never_answers_fails_each_call_within_the_deadline(
    silent_catalog: FirestoreCatalog, blackhole: Blackhole, name: str, call: Call, doing: str
) -> None:
    _fails_in_time(silent_catalog, call, doing)
    assert blackhole.connections, "the client never reached the silent server"


@pytest.mark.parametrize(("name", "call", "doing"), REQUIRED, ids=_ids(REQUIRED))
def test_a_refused_connection_fails_each_call_within_the_deadline_and_says_why(
    refused_catalog: FirestoreCatalog, name: str, call: Call, doing: str
) -> None:
    error = _fails_in_time(refused_catalog, call, doing)
    assert "Connection refused" in str(error)


def test_the_wiring_gives_the_catalog_the_configured_deadline(blackhole: Blackhole) -> None:
    for setting, seconds in (("2.5", 2.5), ("", 30.0)):
        catalog = build_catalog(_config(blackhole.host, setting), FixedClock(BASE_TIME))
        assert isinstance(catalog, FirestoreCatalog)
        assert catalog.deadline_seconds == seconds


def test_a_short_deadline_still_serves_a_live_firestore(firestore_emulator: FirestoreEmulator) -> None:
    firestore_emulator.wipe()
    config = _config(firestore_emulator.host)
    client = build_firestore_client(config)
    try:
        catalog = FirestoreCatalog(client, "deadline_", deadline_seconds=config.catalog_timeout_seconds)
        catalog.add_backup(make_backup("b1"))
        assert catalog.get_backup("b1") == make_backup("b1")
        assert [backup.id for backup in catalog.list_backups().backups] == ["b1"]
        assert catalog.acquire_lock("db-x", "run-1", BASE_TIME, HOUR)
        assert not catalog.acquire_lock("db-x", "run-2", BASE_TIME, HOUR)
    finally:
        client.close()  # type: ignore[no-untyped-call]
