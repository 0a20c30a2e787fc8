"""Load a large table's COPY data over several connections at once, each committing its share.

One backend parses and stores COPY rows at a single core's pace, and a restore in one transaction can use
only one backend. With `connections` > 1 (opt-in) the restorer commits what it has run so far, so the new
table is visible to other sessions, and these loaders take the block's rows between them: whichever is free
takes the next slice, cut at row ends (in COPY's text format a raw newline only ever ends a row). Each
loader's `COPY` is its own transaction. The restore is then not all-or-nothing: a failure leaves the
database incomplete, and the restore service puts the pre-restore backup back.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg

from shared.prefetch import put_unless_stopped

PARALLEL_FROM_BYTES = 8 << 20
"""A COPY block whose data passes this size is loaded in parallel; smaller ones stay in the transaction."""
SLICE_BYTES = 1 << 20
"""Rows handed to one loader at a time (about; a slice always ends at a row's end)."""

type Connection = psycopg.Connection[Any]

_FINISH = object()
_ABORT = object()
_SESSION_SETTINGS = (
    "SELECT name, pg_catalog.current_setting(name) FROM pg_catalog.pg_settings WHERE source = 'session'"
)
# pg_dump's `COPY name (columns) FROM stdin;`. Anything after stdin (CSV, another delimiter...) or a BINARY
# copy stays serial: its rows cannot be cut at any newline.
_PLAIN_TEXT_COPY = re.compile(rb"\ACOPY\s+(?!BINARY\s).*\sFROM\s+stdin\s*;?\Z", re.IGNORECASE | re.DOTALL)

Slice = list[memoryview]


def loads_in_parallel(statement: bytes) -> bool:
    """Whether a COPY statement is pg_dump's plain text form, whose rows may be cut at any newline."""
    return bool(_PLAIN_TEXT_COPY.match(statement.strip()))


class CopyLoaders:
    """Up to `count` connections (opened on first use, as many as the server allows) that load the data of
    COPY blocks longer than `from_bytes`; `on_commit` hears when the restore's transaction is committed."""

    def __init__(
        self,
        settings: str,
        count: int,
        from_bytes: int = PARALLEL_FROM_BYTES,
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._on_commit = on_commit
        self.count = count
        self.from_bytes = from_bytes
        self._connections: list[Connection] | None = None
        self._session: list[tuple[str, str]] = []
        self.used = False

    def available(self) -> int:
        """How many loaders there are; connects them the first time (0 when none could connect)."""
        if self._connections is None:
            self._connections = []
            for _ in range(self.count):
                try:
                    self._connections.append(psycopg.connect(self._settings, autocommit=True))
                except psycopg.OperationalError:
                    break  # e.g. the user's connection limit: load with the ones there are
        return len(self._connections)

    def commit_for_loading(self, connection: Connection) -> None:
        """Commit the restore's transaction, so the loaders' sessions see the table: from here on the
        restore is no longer all or nothing (`used`), even should this commit fail."""
        self.used = True
        self._on_commit()
        connection.commit()

    def load(self, statement: bytes, data: Iterable[memoryview], session_of: Connection) -> None:
        """Run `statement` (a COPY FROM stdin) on every loader and share `data` out between them.

        The loaders first take on `session_of`'s session settings (client_encoding, search_path...).
        Raises the first loader's error; when `data` itself fails, every loader's COPY is rolled back.
        """
        connections = self._connections or []
        assert connections, "load() needs available() > 0"
        self.used = True
        self._match_session(session_of, connections)
        slices: queue.Queue[object] = queue.Queue(maxsize=2 * len(connections))
        errors: list[BaseException] = []
        failed = threading.Event()
        threads = [
            threading.Thread(
                target=_load_slices,
                args=(connection, statement, slices, errors, failed),
                name=f"restore-loader-{number}",
                daemon=True,
            )
            for number, connection in enumerate(connections, 1)
        ]
        for thread in threads:
            thread.start()
        outcome = _ABORT
        try:
            for piece in row_slices(data):
                if not put_unless_stopped(slices, piece, failed):
                    break
            else:
                outcome = _FINISH
        finally:
            for _ in threads:
                slices.put(outcome if not failed.is_set() else _ABORT)
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]

    def close(self) -> None:
        for connection in self._connections or []:
            connection.close()

    def _match_session(self, main: Connection, connections: list[Connection]) -> None:
        wanted = [(str(name), str(value)) for name, value in main.execute(_SESSION_SETTINGS).fetchall()]
        if wanted == self._session:
            return
        for connection in connections:
            for name, value in wanted:
                connection.execute("SELECT pg_catalog.set_config(%s, %s, false)", (name, value))
        self._session = wanted


def row_slices(data: Iterable[memoryview], size: int = SLICE_BYTES) -> Iterator[Slice]:
    """Regroup COPY text data cut anywhere into slices of about `size` bytes that end at a row's end."""
    pending: Slice = []
    pending_bytes = 0
    for piece in data:
        if not piece:
            continue
        pending.append(piece)
        pending_bytes += len(piece)
        if pending_bytes < size:
            continue
        cut = _last_row_end(piece)
        if cut < 0:
            continue
        head, tail = piece[: cut + 1], piece[cut + 1 :]
        yield [*pending[:-1], head]
        pending, pending_bytes = ([tail], len(tail)) if len(tail) else ([], 0)
    if pending:
        yield pending


def _last_row_end(piece: memoryview) -> int:
    """Where the last newline in `piece` is (-1: none), searching back from its end (no copy of it all)."""
    window = 1 << 16
    while True:
        start = max(0, len(piece) - window)
        found = bytes(piece[start:]).rfind(b"\n")
        if found >= 0 or start == 0:
            return start + found if found >= 0 else -1
        window *= 16


def _load_slices(
    connection: Connection,
    statement: bytes,
    slices: queue.Queue[object],
    errors: list[BaseException],
    failed: threading.Event,
) -> None:
    """One loader: COPY the slices it takes until told to finish (commit) or abort (roll back)."""
    told: object = None
    try:
        with connection.cursor().copy(statement) as copy:
            while told is None:
                item = slices.get()
                if item is _FINISH or item is _ABORT:
                    told = item
                    if item is _ABORT:
                        raise _Aborted()
                    break
                assert isinstance(item, list)
                for view in item:
                    copy.write(view)
    except _Aborted:
        return
    except BaseException as exc:  # often only at the COPY's end, once the server has seen every row
        errors.append(exc)
        failed.set()
        while told is None:  # keep taking slices, so the sender never waits on a full queue
            item = slices.get()
            if item is _FINISH or item is _ABORT:
                told = item


class _Aborted(Exception):
    """The sender stopped: this loader's COPY is cancelled and rolled back."""
