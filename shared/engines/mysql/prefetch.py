"""Run an iterator in a background thread a few items ahead, so parsing overlaps the server's work."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

_DONE = object()


def prefetched[T](source: Iterator[T], depth: int = 8) -> Iterator[T]:
    """Yield `source`'s items, read up to `depth` ahead in a thread; its exceptions re-raise here."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            offer(exc)

    worker = threading.Thread(target=produce, name="sql-splitter", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
