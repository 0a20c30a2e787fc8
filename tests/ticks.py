"""Monotonic clocks for time-limit tests (`ServiceContext.ticks`), moved by the test instead of by time."""

from __future__ import annotations


class ManualTicks:
    """Stands still until `advance`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SteppingTicks:
    """Moves on by `step` seconds every time it is read."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now
