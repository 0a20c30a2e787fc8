"""The fixed mmap threshold that keeps a long run's peak RSS as flat as a short one's (benchmarks/)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from shared.memory import keep_large_buffers_off_the_heap
from tests.infra.terraform_files import REPOSITORY


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_fixed_threshold() -> None:
    assert keep_large_buffers_off_the_heap() is True


def test_the_service_sets_it_when_it_starts() -> None:
    """main.py is what the Functions runtime and the command line load first."""
    probe = (
        "import shared.memory as memory; calls = []; "
        "original = memory.keep_large_buffers_off_the_heap; "
        "memory.keep_large_buffers_off_the_heap = lambda: calls.append(1) or original(); "
        "import main; print(len(calls))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPOSITORY, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "1"
