"""`import FILE [--created-at ISO]`: register an existing dump file as a backup."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cli.app import App, Result
from cli.formatting import describe_backup
from cli.progress import ProgressLine
from shared.errors import InvalidInputError


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("import", parents=[common], help="register an existing .sql/.sql.gz dump")
    parser.add_argument("file", type=Path)
    parser.add_argument("--created-at", help="when the dump was taken, ISO 8601 with a time zone")
    parser.set_defaults(run=run)


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of this machine's clock a dump's time may be (the clock of the machine it was made on)."""


def run(args: argparse.Namespace, app: App) -> Result:
    created_at = _checked_time(_parse_time(args.created_at), app) if args.created_at else None
    progress = ProgressLine("import")
    try:
        backup = app.imports.import_file(args.file, app.actor, created_at, progress.callback())
    finally:
        progress.finish()
    return Result(backup.to_dict(), "Imported.\n" + describe_backup(backup))


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(
            f"--created-at {text!r} is not an ISO 8601 time, e.g. 2026-01-31T02:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise InvalidInputError(f"--created-at {text!r} needs a time zone, e.g. 2026-01-31T02:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first instant UTC can hold
        raise InvalidInputError(f"--created-at {text!r} is out of range") from None


def _checked_time(value: datetime, app: App) -> datetime:
    """A time a dump can have been taken at: not before 1970, and not in the future, where it would stay
    its database's newest backup, which retention always keeps, for ever."""
    if value < EARLIEST:
        raise InvalidInputError(f"--created-at {value.isoformat()} is before {EARLIEST:%Y-%m-%d}")
    now = app.context.clock.now()
    if value > now + CLOCK_SKEW:
        raise InvalidInputError(
            f"--created-at {value.isoformat()} is in the future (it is {now.isoformat(timespec='seconds')} "
            "now); give the time the dump was taken"
        )
    return value
