"""Read one large integer-keyed table through several connections that share the dump's snapshot.

The key range is cut into spans; each reader thread takes the next span, reads it in batches
(`batches.batched_values`) and hands the batches over a small bounded queue, so at most a few
batches per reader are held in memory. The order of rows inside a table's INSERTs does not matter,
so batches are written as they arrive. The server's formatting and disk reads are what a dump waits
for; with several readers the server works on several batches at once.

A reader's error stops the others and is raised to the caller; a caller that stops early (the
pipeline failed) stops the readers too.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from shared.engines.mysql.batches import BatchWidth, KeySpan, RowReader, batched_values
from shared.engines.mysql.connection import Connection
from shared.engines.mysql.schema import Table
from shared.engines.mysql.value_formats import quote_identifier

SPAN_BYTES = 8 << 20
"""About how much table data (InnoDB's estimate) one span covers."""
SPAN_KEYS = 16_384
"""At least this many keys per span when the estimate is low (InnoDB's statistics lag behind a fresh load)."""
MAX_SPANS_BY_KEYS = 64
"""Spans cut by key count alone, which may be mostly empty where keys are sparse (one cheap query each)."""
MAX_SPANS = 4096
QUEUED_BATCHES_PER_READER = 2
STOP_POLL_SECONDS = 0.1
JOIN_SECONDS = 30.0


@dataclass(frozen=True)
class _Finished:
    """A reader is done with the table (`error` None) or failed with `error`."""

    error: BaseException | None = None


def key_spans(cursor: Any, database: str, table: Table, key: str, readers: int) -> list[KeySpan]:
    """Spans tiling the table's keys (the last open-ended); one span when the table is small."""
    cursor.execute(
        "SELECT DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (database, table.name),
    )
    row = cursor.fetchone()
    data_bytes = int(row[0] or 0) if row else 0
    source = f"{quote_identifier(database)}.{quote_identifier(table.name)}"
    cursor.execute(f"SELECT MIN({quote_identifier(key)}), MAX({quote_identifier(key)}) FROM {source}")
    lowest, highest = cursor.fetchone()
    if lowest is None:
        return []
    lowest, highest = int(lowest), int(highest)
    keys = highest - lowest + 1
    count = min(MAX_SPANS, keys, max(data_bytes // SPAN_BYTES, min(MAX_SPANS_BY_KEYS, keys // SPAN_KEYS)))
    if readers < 2 or count < 2:
        return [(lowest, None)]
    width = -(-keys // count)
    starts = range(lowest, highest + 1, width)
    return [(start, start + width) for start in starts[:-1]] + [(starts[-1], None)]


def parallel_values(
    connections: list[Connection],
    database: str,
    table: Table,
    key: str,
    budget: int,
    spans: list[KeySpan],
    row_reader_for: Callable[[Connection], RowReader],
    after_table: Callable[[Connection], None],
) -> Iterator[tuple[bytes, int]]:
    """`(values, rows)` batches of every span, read by one thread per connection, in arrival order.

    `after_table` runs on each reader's own thread once it has read its last span (releasing what the
    table holds on that connection).
    """
    pending: queue.SimpleQueue[KeySpan] = queue.SimpleQueue()
    for span in spans:
        pending.put(span)
    batches: queue.Queue[tuple[bytes, int] | _Finished] = queue.Queue(
        QUEUED_BATCHES_PER_READER * len(connections)
    )
    stop = threading.Event()
    width = BatchWidth()

    def read(connection: Connection) -> None:
        outcome = _Finished()
        try:
            cursor = connection.cursor()
            read_rows = row_reader_for(connection)
            while not stop.is_set():
                try:
                    span = pending.get_nowait()
                except queue.Empty:
                    break
                for batch in batched_values(cursor, database, table, key, budget, read_rows, span, width):
                    if not _offer(batches, batch, stop):
                        return
            after_table(connection)
        except BaseException as exc:  # handed to the caller's thread, which raises it
            outcome = _Finished(exc)
            stop.set()
        _offer(batches, outcome, threading.Event())

    threads = [
        threading.Thread(target=read, args=(connection,), name=f"mysql-reader-{number}", daemon=True)
        for number, connection in enumerate(connections)
    ]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            item = batches.get()
            if isinstance(item, _Finished):
                running -= 1
                if item.error is not None:
                    raise item.error
            else:
                yield item
    finally:
        stop.set()
        _drain(batches, threads)


def _offer(batches: queue.Queue[Any], item: object, stop: threading.Event) -> bool:
    """Queue `item`, waiting for room; False if `stop` was set meanwhile."""
    while not stop.is_set():
        try:
            batches.put(item, timeout=STOP_POLL_SECONDS)
        except queue.Full:
            continue
        return True
    return False


def _drain(batches: queue.Queue[Any], threads: list[threading.Thread]) -> None:
    """Let every reader finish its current query and exit, emptying the queue so none waits on it.

    A reader stuck in a query for longer than JOIN_SECONDS is left behind: the caller closes its
    connection, which ends the query.
    """
    deadline = time.monotonic() + JOIN_SECONDS
    for thread in threads:
        while thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                batches.get(timeout=STOP_POLL_SECONDS)
            thread.join(STOP_POLL_SECONDS)
