"""An operation's time limit: stop cleanly, and say so, before the platform's timeout stops it half-way.

A Cloud Function that outlives its timeout is not killed: the caller gets a 504 and the instance goes on
with its CPU throttled, so a backup would stay `running` with nothing mailed, and a restore would keep
every table locked. A backup or restore with a limit checks it after each chunk and fails the ordinary
way (record failed, upload aborted, database put back, mail sent) while there is still time to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from shared.errors import TimeLimitError
from shared.sizes import human_size

SETTING = "BACKUP_TIME_LIMIT_SECONDS"

Ticks = Callable[[], float]
"""Seconds from a monotonic clock (`time.monotonic` outside tests)."""

Reserve = Callable[[int, float], float]
"""Given the bytes passed so far and the seconds that took, how many seconds must be left over at the end
for the work that follows a stop (a restore's put-back)."""


class TimeLimit:
    """The clock of one operation, started when the operation starts; `seconds=None` means no limit."""

    def __init__(self, seconds: int | None, ticks: Ticks = time.monotonic) -> None:
        self.seconds = seconds
        self._ticks = ticks
        self._started = ticks()

    def elapsed(self) -> float:
        return self._ticks() - self._started

    def remaining(self) -> float:
        return float("inf") if self.seconds is None else self.seconds - self.elapsed()

    def guard(self, chunks: Iterable[bytes], doing: str, reserve: Reserve | None = None) -> Iterator[bytes]:
        """Yield `chunks`, raising `TimeLimitError` (and closing `chunks`) once the limit, less what
        `reserve` asks to keep, has passed. `doing` names the work for the message ("the backup")."""
        source = iter(chunks)
        if self.seconds is None:
            yield from source
            return
        passed = 0
        began = self.elapsed()
        try:
            for chunk in source:
                passed += len(chunk)
                kept = reserve(passed, self.elapsed() - began) if reserve is not None else 0.0
                if self.remaining() < kept:
                    raise TimeLimitError(self._message(doing, passed, kept))
                yield chunk
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()

    def _message(self, doing: str, passed: int, kept: float) -> str:
        assert self.seconds is not None
        stopped = f"{doing} was stopped after {self.elapsed():,.0f} s and {human_size(passed)}"
        if kept > 0:
            stopped += f", keeping the {kept:,.0f} s that putting the database back takes at its pace"
        return (
            f"{stopped}: it could not finish within its time "
            f"limit of {self.seconds:,} s ({SETTING}, the function's timeout less a margin to fail cleanly). "
            "Give the function a longer timeout (at most 3600 s), or run it with the command line, which has "
            "no limit unless that variable is set"
        )
