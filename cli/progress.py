"""A one-line progress display on stderr (bytes and rate), shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from shared.pipeline import ProgressCallback


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.1f} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    return f"{count:.1f} TiB"


class ProgressLine:
    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.2) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._interval = interval
        self._start = time.monotonic()
        self._last = 0.0
        self._shown = False

    @property
    def enabled(self) -> bool:
        return self._stream.isatty()

    def callback(self) -> ProgressCallback | None:
        return self.update if self.enabled else None

    def update(self, read: int, stored: int) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        rate = read / max(now - self._start, 1e-6)
        text = f"\r{self._label}: {_size(read)} read, {_size(stored)} stored, {_size(rate)}/s   "
        self._stream.write(text)
        self._stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
