"""Run an iterator on a background thread a few items ahead, so producing and consuming overlap."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

_DONE = object()


def prefetched[T](source: Iterable[T], depth: int = 8, name: str = "prefetch") -> Iterator[T]:
    """Yield `source`'s items, read up to `depth` ahead on a thread; its exceptions re-raise here.

    When the consumer stops early, the thread stops at its next item and closes `source` (so a dump
    generator's clean-up runs on the thread that ran it)."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        return put_unless_stopped(items, item, stop)

    def produce() -> None:
        iterator = iter(source)
        try:
            for item in iterator:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            offer(exc)
        finally:
            close = getattr(iterator, "close", None)
            if stop.is_set() and callable(close):
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
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
        worker.join(timeout=30)


def put_unless_stopped(items: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put `item` on `items`, waiting for room, unless `stop` is set first; whether it was put."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
