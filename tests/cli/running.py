"""Running the command line as ops do, `python main.py ...` in a subprocess: to completion, in the
background (to signal it), with stderr on a terminal (to see the progress line), or in a mount namespace
of its own (to give it a small or read-only file system)."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from shared.catalog.sqlite import SQLiteCatalog

ROOT = Path(__file__).resolve().parents[2]
MAIN = str(ROOT / "main.py")
TIMEOUT = 300

Stream = int | IO[Any] | None


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected exactly one JSON line, got {self.stdout!r}"
        return json.loads(lines[0])


@dataclass
class Cli:
    env: dict[str, str]

    def __call__(self, *args: str, stdin: str | None = None) -> Run:
        done = subprocess.run(
            [sys.executable, MAIN, *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=TIMEOUT,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def start(
        self, *args: str, stdout: Stream = subprocess.PIPE, stderr: Stream = subprocess.PIPE
    ) -> subprocess.Popen[bytes]:
        """The command running in the background, stdin empty."""
        return subprocess.Popen(
            [sys.executable, MAIN, *args],
            env=self.env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )

    @property
    def home(self) -> Path:
        return Path(self.env["BACKUP_HOME"])

    @property
    def files(self) -> Path:
        return self.home / "files"

    def catalog(self) -> SQLiteCatalog | None:
        """The command's catalog, once it has made one."""
        path = self.home / "catalog.sqlite3"
        return SQLiteCatalog(path) if path.exists() else None


def finished(process: subprocess.Popen[bytes]) -> Run:
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return Run(process.returncode, (stdout or b"").decode(), (stderr or b"").decode())


def wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    """Until `ready()`, for 60 s at most; fails with its stderr if the command ended meanwhile."""
    deadline = time.monotonic() + 60
    while not ready():
        if process.poll() is not None:
            raise AssertionError(f"the command ended before {what}: {finished(process)}")
        assert time.monotonic() < deadline, f"the command never got to {what}"
        time.sleep(0.05)


@dataclass
class TerminalRun:
    code: int
    stdout: str
    shown: str
    """What stderr, a terminal, showed."""

    def json_error(self) -> Any:
        return Run(self.code, self.stdout, self.shown).json


def on_terminal(
    cli: Cli, *args: str, meanwhile: Callable[[subprocess.Popen[bytes]], None] | None = None
) -> TerminalRun:
    """Run the command with stderr on a pseudo-terminal, doing `meanwhile` with it while it runs."""
    controller, terminal = pty.openpty()
    shown = bytearray()
    reader = threading.Thread(target=_read_all, args=(controller, shown), daemon=True)
    try:
        process = cli.start(*args, stderr=terminal)
        os.close(terminal)
        reader.start()
        if meanwhile is not None:
            meanwhile(process)
        stdout, _ = process.communicate(timeout=TIMEOUT)
        reader.join(10)
    finally:
        os.close(controller)
    return TerminalRun(process.returncode, stdout.decode(), shown.decode(errors="replace"))


def _read_all(controller: int, into: bytearray) -> None:
    while True:
        try:
            piece = os.read(controller, 65536)
        except OSError:  # EIO: the command, the terminal's last user, has gone
            return
        if not piece:
            return
        into.extend(piece)


def with_tmpfs(cli: Cli, folder: Path, options: str, *args: str) -> Run:
    """Run the command with `folder` a fresh tmpfs mounted with `options` (`size=256k`, `ro`) in a private
    mount namespace; its stdout ends with `LEFTOVER:` and what the folder holds afterwards."""
    if shutil.which("unshare") is None:
        pytest.skip("LOUD SKIP: `unshare` is missing, so no small file system can be mounted here")
    folder.mkdir(parents=True, exist_ok=True)
    script = (
        'folder=$1; shift; mount -t tmpfs -o "$1" tmpfs "$folder" || exit 99; shift; '
        '"$@"; code=$?; echo "LEFTOVER:$(ls -A "$folder" | tr "\\n" " ")"; exit $code'
    )
    command = ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), options, sys.executable, MAIN, *args]
    done = subprocess.run(command, env=cli.env, capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode == 99:
        pytest.skip(f"LOUD SKIP: cannot mount a test tmpfs here: {done.stderr.strip()}")
    return Run(done.returncode, done.stdout, done.stderr)
