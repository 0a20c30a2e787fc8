"""Time limits: chunks pass until the limit, less what the caller keeps in hand, has gone; then a clear error
and the source is closed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.errors import TimeLimitError
from shared.services.restore import PACE_SETTLES_SECONDS, put_back_reserve
from shared.time_limit import TimeLimit
from tests.ticks import ManualTicks


class Source:
    """Chunks of `size` bytes; each one taken moves `ticks` on by `step` seconds. Records being closed."""

    def __init__(self, ticks: ManualTicks, count: int, size: int = 1000, step: float = 1.0) -> None:
        self.ticks, self.count, self.size, self.step = ticks, count, size, step
        self.closed = False
        self.given = 0

    def __iter__(self) -> Iterator[bytes]:
        try:
            for _ in range(self.count):
                self.ticks.advance(self.step)
                self.given += 1
                yield b"x" * self.size
        finally:
            self.closed = True


def test_no_limit_passes_everything() -> None:
    ticks = ManualTicks()
    source = Source(ticks, 50, step=1000)
    assert len(b"".join(TimeLimit(None, ticks).guard(source, "the backup"))) == 50_000


def test_within_the_limit_everything_passes() -> None:
    ticks = ManualTicks()
    source = Source(ticks, 10)
    assert len(b"".join(TimeLimit(10, ticks).guard(source, "the backup"))) == 10_000
    assert source.closed


def test_past_the_limit_it_stops_with_what_to_do_and_closes_the_source() -> None:
    ticks = ManualTicks()
    source = Source(ticks, 100)
    taken: list[bytes] = []
    with pytest.raises(TimeLimitError) as info:
        for chunk in TimeLimit(30, ticks).guard(source, "the backup"):
            taken.append(chunk)
    assert len(taken) == 30
    assert source.given == 31
    assert source.closed
    message = str(info.value)
    assert message.startswith("the backup was stopped after 31 s and 30.3 KiB")
    assert "time limit of 30 s (BACKUP_TIME_LIMIT_SECONDS" in message
    assert "longer timeout" in message


def test_the_clock_runs_from_the_start_of_the_operation_not_of_the_guard() -> None:
    ticks = ManualTicks()
    limit = TimeLimit(60, ticks)
    ticks.advance(59.5)
    with pytest.raises(TimeLimitError):
        list(limit.guard(Source(ticks, 2), "the restore"))


def test_a_reserve_stops_it_early_enough_for_what_follows() -> None:
    ticks = ManualTicks()
    kept = 20.0
    source = Source(ticks, 100)
    taken = 0
    with pytest.raises(TimeLimitError, match="keeping the 20 s that putting the database back takes"):
        for _ in TimeLimit(100, ticks).guard(source, "the restore", lambda passed, seconds: kept):
            taken += 1
    assert taken == 80


def test_put_back_reserve_is_the_pre_restore_backup_at_the_restore_pace_plus_half() -> None:
    reserve = put_back_reserve(pre_restore_sql_bytes=4_000_000)
    assert reserve(0, 100.0) == 0.0
    assert reserve(1_000_000, PACE_SETTLES_SECONDS / 2) == 0.0
    # 1 MB in 10 s: the 4 MB put-back takes 40 s, kept with half as much again.
    assert reserve(1_000_000, 10.0) == pytest.approx(60.0)


def test_put_back_reserve_keeps_nothing_until_a_put_back_would_be_needed() -> None:
    committed = False
    reserve = put_back_reserve(4_000_000, lambda: committed)
    assert reserve(1_000_000, 10.0) == 0.0
    committed = True
    assert reserve(1_000_000, 10.0) == pytest.approx(60.0)


def test_a_slow_restore_of_a_large_database_stops_while_its_put_back_still_fits() -> None:
    ticks = ManualTicks()
    limit = TimeLimit(1000, ticks)
    # 1 MB a second; the pre-restore backup holds 200 MB: 300 s are kept for it.
    source = Source(ticks, 10_000, size=1_000_000, step=1.0)
    with pytest.raises(TimeLimitError) as info:
        for _ in limit.guard(source, "the restore", put_back_reserve(200_000_000)):
            pass
    assert 695 <= limit.elapsed() <= 705
    assert limit.remaining() >= 295
    assert "keeping the 300 s" in str(info.value)
