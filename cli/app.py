"""What every command gets: the services (built lazily from the configuration), the actor, the output."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cli.exit_codes import EXIT_STDOUT_CLOSED
from shared.config import Config
from shared.services.backups import BackupService
from shared.services.cleanup import CleanupService
from shared.services.context import ServiceContext
from shared.services.download import DownloadService
from shared.services.importer import ImportService
from shared.services.records import RecordService
from shared.services.restore import RestoreService
from shared.services.settings import SettingsService
from shared.wiring import build_context, build_schedule_sync


@dataclass
class Result:
    """What a command produced: one JSON object for `--json`, and text for people."""

    data: Mapping[str, Any]
    text: str = ""
    exit_code: int = 0
    """Non-zero when the command ran but did not fully succeed (e.g. a cleanup with failures)."""
    error: str = ""
    """Why, when `exit_code` is not 0: its first line goes to stderr, and the whole of it into the JSON as
    `error`, with `exit_code`, as for every other error."""

    def json_data(self) -> Mapping[str, Any]:
        if not self.exit_code:
            return self.data
        return {**self.data, "error": self.error, "exit_code": self.exit_code}


@dataclass
class App:
    environ: Mapping[str, str]
    as_json: bool = False
    _overrides: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def config(self) -> Config:
        return Config.from_env(self.environ)

    @cached_property
    def context(self) -> ServiceContext:
        return build_context(self.config)

    @cached_property
    def actor(self) -> str:
        try:
            return getpass.getuser()
        except Exception:
            return "unknown-os-user"

    @cached_property
    def backups(self) -> BackupService:
        return BackupService(self.context)

    @cached_property
    def restores(self) -> RestoreService:
        return RestoreService(self.context, self.backups)

    @cached_property
    def records(self) -> RecordService:
        return RecordService(self.context)

    @cached_property
    def downloads(self) -> DownloadService:
        return DownloadService(self.context)

    @cached_property
    def imports(self) -> ImportService:
        return ImportService(self.context)

    @cached_property
    def cleanup(self) -> CleanupService:
        ctx = self.context
        return CleanupService(ctx.catalog, ctx.storages, ctx.auditor, ctx.clock)

    @cached_property
    def settings(self) -> SettingsService:
        return SettingsService(self.context, build_schedule_sync(self.config))

    def emit(self, result: Result) -> int:
        """Print the result; returns the exit code."""
        if result.exit_code:
            _tell(f"error: {first_line(result.error)}")
        if sys.stdout is None:  # started with stdout closed (`main.py list >&-`)
            return _unwritten(result, "stdout was closed")
        try:
            self._write(result)
        except BrokenPipeError:
            return _stdout_closed(result)
        except OSError as exc:  # a full disk, a terminal gone (EIO)
            return _unwritten(result, f"the output could not be written to stdout ({exc.strerror or exc})")
        return result.exit_code

    def _write(self, result: Result) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(result.json_data(), default=str, ensure_ascii=False) + "\n")
        elif result.text:
            sys.stdout.write(result.text.rstrip("\n") + "\n")
        sys.stdout.flush()


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "failed"


def _stdout_closed(result: Result) -> int:
    """Nobody reads stdout any more (`main.py list | head -1`): say so in one line, without hiding how the
    command itself ended, and exit as a program stopped by SIGPIPE would (or with the command's own
    failure)."""
    return _unwritten(result, "stdout was closed before the output could be written")


def _unwritten(result: Result, why: str) -> int:
    """The output could not be written: say so on stderr, keep how the command itself ended, and exit 141
    when it succeeded (its output is lost), as a program stopped by SIGPIPE would."""
    if sys.stdout is not None:
        # Python flushes stdout once more on exit; pointing it at /dev/null keeps that from failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    ended = "failed, as said above" if result.exit_code else "completed"
    _tell(f"warning: {why}; the command {ended}")
    return result.exit_code or EXIT_STDOUT_CLOSED


def _tell(line: str) -> None:
    """A line on stderr, when there is a stderr to write to."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except OSError:
        pass
