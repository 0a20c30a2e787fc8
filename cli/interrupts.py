"""Stop signals on the command line: SIGTERM (`timeout`, systemd, `docker stop`) and SIGHUP (the terminal
or ssh session gone) stop a command as Ctrl-C does, with `KeyboardInterrupt`, so the run fails the ordinary
way (record failed, partial files removed, database put back, lock released) instead of dying half-way."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

CTRL_C = "Ctrl-C"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Besides Ctrl-C: `timeout`, systemd, `docker stop`; and a terminal or ssh session that goes away."""


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM or SIGHUP raises `KeyboardInterrupt("SIGTERM")` (or "SIGHUP") in the
    main thread."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = {stop: signal.signal(stop, _interrupt) for stop in STOP_SIGNALS}
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


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
