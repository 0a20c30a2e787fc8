"""`import FILE [--created-at ISO]`: register an existing dump file as a backup."""

from __future__ import annotations

import argparse
from datetime import datetime
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


def run(args: argparse.Namespace, app: App) -> Result:
    created_at = _parse_time(args.created_at) if args.created_at else None
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
    return value
