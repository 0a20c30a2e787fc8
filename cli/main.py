"""Parses the command line, runs one command, and turns errors into one line and an exit code."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence

from cli.app import App, Result
from cli.commands import (
    cleanup,
    create,
    delete,
    download,
    drive_test,
    import_file,
    protect,
    restore,
    serve,
    settings,
    show,
)
from cli.commands import list as list_command
from shared.errors import BackupServiceError, BusyError, ConfigurationError, InvalidInputError, NotFoundError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_NOT_FOUND, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
COMMANDS = (
    create,
    list_command,
    show,
    download,
    delete,
    protect,
    import_file,
    restore,
    settings,
    cleanup,
    drive_test,
    serve,
)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Backups of a MySQL/MariaDB or PostgreSQL database. Configure with BACKUP_* variables.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub, common)
    return parser


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, BusyError):
        return EXIT_BUSY
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, InvalidInputError | ConfigurationError):
        return EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr, format="%(message)s"
    )
    app = App(environ if environ is not None else os.environ, as_json=args.json)
    try:
        result: Result = args.run(args, app)
        app.emit(result)
        return result.exit_code
    except (Exception, KeyboardInterrupt) as exc:
        code = _exit_code(exc)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if code == EXIT_FAILED and not isinstance(exc, BackupServiceError):
            message = f"internal error ({type(exc).__name__}): {message}"
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"error: {message}\n")
        if args.json:
            sys.stdout.write(json.dumps({"error": str(exc) or type(exc).__name__, "exit_code": code}) + "\n")
        return code
