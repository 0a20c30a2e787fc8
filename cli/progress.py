"""A one-line progress display on stderr (bytes and rate), shown only when stderr is a terminal; work in
phases (a restore's) gets a line per phase."""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

from shared.pipeline import ProgressCallback

RATE_WINDOW_SECONDS = 5.0
"""The rate shown is that of the last few seconds: since the start it would under-read for as long as
connecting, locking and the first chunk took, and lag behind any change of pace."""


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} TiB"


class ProgressLine:
    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        interval: float = 0.2,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._interval = interval
        self._ticks = ticks
        self._phase = ""
        self._samples: deque[tuple[float, int]] = deque()
        """(when, bytes read) of the lines shown in the last RATE_WINDOW_SECONDS, and one before."""
        self._shown = False

    @property
    def enabled(self) -> bool:
        return self._stream.isatty()

    def callback(self) -> ProgressCallback | None:
        return self.update if self.enabled else None

    def phase_callback(self) -> Callable[[str, int, int], None] | None:
        return self.update_phase if self.enabled else None

    def update_phase(self, phase: str, read: int, stored: int) -> None:
        """Like `update`, for work in phases: a new phase ends the line of the one before."""
        if phase != self._phase:
            self.finish()
            self._phase = phase
            self._samples.clear()
        self.update(read, stored)

    def update(self, read: int, stored: int) -> None:
        now = self._ticks()
        if self._samples and now - self._samples[-1][0] < self._interval:
            return
        self._samples.append((now, read))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW_SECONDS:
            self._samples.popleft()
        self._stream.write(f"\r{self._text(read, stored)}   ")
        self._stream.flush()
        self._shown = True

    def _text(self, read: int, stored: int) -> str:
        label = f"{self._label} ({self._phase})" if self._phase else self._label
        counts = f"{_size(read)} read" if stored == read else f"{_size(read)} read, {_size(stored)} stored"
        since, before = self._samples[0]
        if since == self._samples[-1][0]:
            return f"{label}: {counts}"  # no rate from a single moment
        return f"{label}: {counts}, {_size((read - before) / (self._samples[-1][0] - since))}/s"

    def finish(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = False
