"""Stop signals on the command line: SIGTERM (`timeout`, systemd, `docker stop`) stops a command as Ctrl-C
does, with `KeyboardInterrupt`, so the run fails the ordinary way (record failed, partial files removed,
database put back, lock released) instead of dying half-way."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

CTRL_C = "Ctrl-C"


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises `KeyboardInterrupt("SIGTERM")` in the main thread."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The `KeyboardInterrupt` that `exc` is, or was raised from (a restore reports Ctrl-C as a
    `RestoreError` from it, after putting the database back); None when it is no interruption."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__
    return None


def interruption_name(interrupt: KeyboardInterrupt) -> str:
    """What stopped the command: the signal's name for SIGTERM, else Ctrl-C (SIGINT)."""
    return str(interrupt) or CTRL_C
