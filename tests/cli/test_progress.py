"""The progress line: its rate is that of the last few seconds, and work in phases gets a line per phase."""

from __future__ import annotations

import io

from cli.progress import ProgressLine
from tests.ticks import ManualTicks

MIB = 1 << 20


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _last_line(terminal: Terminal) -> str:
    return terminal.getvalue().replace("\r", "\n").strip().splitlines()[-1].strip()


def test_the_rate_is_that_of_the_last_seconds() -> None:
    terminal, ticks = Terminal(), ManualTicks()
    line = ProgressLine("backup", terminal, ticks=ticks)
    ticks.advance(60)  # connecting and locking: nothing read yet
    line.update(0, 0)
    assert _last_line(terminal) == "backup: 0 B read"
    for second in range(1, 11):
        ticks.advance(1)
        line.update(second * 10 * MIB, second * MIB)
    assert _last_line(terminal) == "backup: 100.0 MiB read, 10.0 MiB stored, 10.0 MiB/s"
    for second in range(1, 11):  # slower now: the rate follows within the window
        ticks.advance(1)
        line.update(100 * MIB + second * MIB, 10 * MIB)
    assert _last_line(terminal).endswith(", 1.0 MiB/s")


def test_each_phase_gets_its_own_line_counted_from_its_start() -> None:
    terminal, ticks = Terminal(), ManualTicks()
    line = ProgressLine("restore", terminal, ticks=ticks)
    line.update_phase("checking the file", 5 * MIB, 5 * MIB)
    ticks.advance(1)
    line.update_phase("checking the file", 10 * MIB, 10 * MIB)
    ticks.advance(0.01)  # within the interval, yet a new phase shows at once
    line.update_phase("pre-restore backup", MIB, MIB // 2)
    line.finish()
    assert terminal.getvalue().split("\n") == [
        "\rrestore (checking the file): 5.0 MiB read   "
        "\rrestore (checking the file): 10.0 MiB read, 5.0 MiB/s   ",
        "\rrestore (pre-restore backup): 1.0 MiB read, 512.0 KiB stored   ",
        "",
    ]
