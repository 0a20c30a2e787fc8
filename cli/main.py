"""Parses the command line, runs one command, and turns errors into one line and an exit code."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from cli.app import App, Result
from cli.commands import (
    cleanup,
    create,
    db_test,
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
from cli.exit_codes import EXIT_BUSY, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_FOUND, EXIT_USAGE
from cli.interrupts import interruption, interruption_name, stop_signals_interrupt
from shared.errors import BackupServiceError, BusyError, ConfigurationError, InvalidInputError, NotFoundError

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
    db_test,
    serve,
)


JSON_FLAG = "--json"


class UsageError(Exception):
    """The command line could not be parsed (argparse's own errors)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """Options are given whole (`--jso` is no `--json`), so that `--json` is seen as argparse sees it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python main.py",
        description="Backups of a MySQL/MariaDB or PostgreSQL database. Configure with BACKUP_* variables.",
        parents=[_common_options(default=False)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # After the command the options are the same, but leave alone what was given before it.
    common = _common_options(default=argparse.SUPPRESS)
    for command in COMMANDS:
        command.register(sub, common)
    return parser


def _common_options(default: object) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        JSON_FLAG, action="store_true", default=default, help="print exactly one JSON object on stdout"
    )
    common.add_argument(
        "--debug", action="store_true", default=default, help="show tracebacks and debug logs"
    )
    return common


def _exit_code(exc: BaseException) -> int:
    if interruption(exc) is not None:
        return EXIT_INTERRUPTED
    if isinstance(exc, BusyError):
        return EXIT_BUSY
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, InvalidInputError | ConfigurationError):
        return EXIT_USAGE
    return EXIT_FAILED


def _describe(exc: BaseException, code: int) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return f"interrupted ({interruption_name(exc)})"
    message = str(exc).strip() or type(exc).__name__
    if code == EXIT_FAILED and not isinstance(exc, BackupServiceError):
        return f"internal error ({type(exc).__name__}): {message}"
    return message


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    app = App(environ if environ is not None else os.environ, as_json=JSON_FLAG in arguments)
    try:
        args = build_parser().parse_args(arguments)
    except UsageError as exc:
        return _usage_failure(app, exc)
    app.as_json = args.json
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, stream=sys.stderr, format="%(message)s"
    )
    try:
        with stop_signals_interrupt():
            result: Result = args.run(args, app)
    except (Exception, KeyboardInterrupt) as exc:
        if args.debug:
            traceback.print_exc()
        code = _exit_code(exc)
        result = Result({}, exit_code=code, error=_describe(exc, code))
    return app.emit(result)


def _usage_failure(app: App, exc: UsageError) -> int:
    """As argparse reports it (usage, then the error); with --json, as every other error."""
    if app.as_json:
        return app.emit(Result({}, exit_code=EXIT_USAGE, error=str(exc)))
    exc.parser.print_usage(sys.stderr)
    sys.stderr.write(f"{exc.parser.prog}: error: {exc}\n")
    return EXIT_USAGE
