"""Run a client tool as a child process whose stderr is drained by a thread, so no pipe ever blocks."""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import threading
from collections.abc import Sequence
from typing import IO

STDERR_KEPT_BYTES = 64 * 1024


class StderrCollector:
    """Reads a child's stderr to its end in a background thread; keeps the first and last 32 KiB."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._head = bytearray()
        self._tail = bytearray()
        self._thread = threading.Thread(target=self._drain, name="pg-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        half = STDERR_KEPT_BYTES // 2
        for line in iter(self._stream.readline, b""):
            if len(self._head) < half:
                self._head += line
            else:
                self._tail += line
                del self._tail[:-half]
        self._stream.close()

    def text(self, timeout: float = 30.0) -> str:
        """All of stderr (shortened in the middle when huge), once the child has closed it."""
        self._thread.join(timeout)
        gap = "\n[...]\n" if len(self._tail) >= STDERR_KEPT_BYTES // 2 else ""
        return (
            bytes(self._head).decode("utf-8", "replace") + gap + bytes(self._tail).decode("utf-8", "replace")
        ).strip()


_F_SETPIPE_SZ = 1031
_PIPE_BYTES = 1 << 20


def start(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a child whose stdout we read (pg_dump) and whose stderr a `StderrCollector` drains."""
    process = subprocess.Popen(
        list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    if process.stdout is not None:
        _widen(process.stdout.fileno())
    return process


def _widen(descriptor: int) -> None:
    """A 1 MiB pipe (Linux; 64 KiB otherwise) lets the child and us work in larger strides."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(descriptor, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), _PIPE_BYTES)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the child if it still runs (a dump abandoned midway) and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait()


def error_lines(stderr: str) -> list[str]:
    """The lines of a client tool's stderr that report an error rather than a warning or notice."""
    markers = ("error:", "ERROR:", "FATAL:", "PANIC:", "fatal:")
    return [line for line in stderr.splitlines() if any(marker in line for marker in markers)]
