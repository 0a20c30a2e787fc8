"""Every connection to a PostgreSQL server over TCP (pg_dump's, psql's and our restore's) probes a silent
server after a minute, not after the system's two hours. Read from the kernel's own table of TCP sockets
(`/proc/net/tcp`) while each connection waits for a table lock held by another session."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from shared.dburl import DatabaseURL
from shared.engines.base import DumpReport
from shared.engines.postgres.connection import KEEPALIVES
from tests.engines.postgres.database_state import dump_to_bytes, engine
from tests.open_transactions import postgres_database_with_held_table

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
KEEPALIVE_TIMER = 2
"""`/proc/net/tcp`'s `tr` column: the socket's pending timer is the keepalive timer."""


@pytest.fixture
def database() -> Iterator[DatabaseURL]:
    with postgres_database_with_held_table("keepalive") as url:
        yield url


def test_pg_dump_probes_a_silent_server_after_a_minute(database: DatabaseURL) -> None:
    with _table_held(database):
        consumer = _in_background(lambda: b"".join(engine(database).dump(DumpReport())))
        [pg_dump] = _waiting(lambda: _children_named("pg_dump"))
        assert _keepalive_timers(pg_dump, database.port) == [pytest.approx(_IDLE, abs=5)]
    consumer.join(60)
    assert not consumer.is_alive() and consumer.error is None


def test_the_restore_probes_a_silent_server_after_a_minute(database: DatabaseURL) -> None:
    dump, _ = dump_to_bytes(database)
    with _table_held(database):
        restorer = _in_background(lambda: engine(database).restore(dump))
        timers = _waiting(lambda: _keepalive_timers(os.getpid(), database.port))
        assert timers == [pytest.approx(_IDLE, abs=5)]
    restorer.join(60)
    assert not restorer.is_alive() and restorer.error is None


_IDLE = float(KEEPALIVES["keepalives_idle"])


class _Background(threading.Thread):
    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._work = work
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # reported by the test that waits for it
            self.error = exc


def _in_background(work: Callable[[], object]) -> _Background:
    thread = _Background(work)
    thread.start()
    return thread


@contextmanager
def _table_held(url: DatabaseURL) -> Iterator[None]:
    """`LOCK TABLE held` from a psql of its own (outside this process), rolled back when the block ends."""
    holder = subprocess.Popen(
        ["psql", "-X", "-q", "-h", url.host, "-p", str(url.port), "-U", url.user, "-d", url.database],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert holder.stdin is not None
    holder.stdin.write("BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE;\n")
    holder.stdin.flush()
    try:
        time.sleep(0.5)
        yield
    finally:
        holder.communicate("ROLLBACK;\n", timeout=30)


def _waiting[T](found: Callable[[], list[T]]) -> list[T]:
    """What `found` finds once it finds anything, a second later: the connection has been idle since."""
    deadline = time.monotonic() + 20
    while not found():
        assert time.monotonic() < deadline, "the connection never showed up waiting"
        time.sleep(0.1)
    time.sleep(1.0)
    return found()


def _children_named(name: str) -> list[int]:
    """This process's child processes called `name`, whichever of its threads started them."""
    tasks = Path("/proc/self/task").iterdir()
    children = [pid for task in tasks for pid in (task / "children").read_text().split()]
    return [int(pid) for pid in children if Path(f"/proc/{pid}/comm").read_text().strip() == name]


def _keepalive_timers(pid: int, port: int) -> list[float]:
    """Seconds until the next keepalive probe of each of `pid`'s TCP connections to `port` whose pending
    timer is a keepalive timer (an idle connection with keepalives on)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    timers = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        timer, when = fields[5].split(":")
        if fields[9] in inodes and remote_port == port and int(timer, 16) == KEEPALIVE_TIMER:
            timers.append(int(when, 16) / TICKS_PER_SECOND)
    return timers
