"""`db-test`: say whether the configured database can be backed up, without taking a backup."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.exit_codes import EXIT_FAILED, EXIT_USAGE
from shared.services.database_check import check_database


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser(
        "db-test", parents=[common], help="check that the database can be reached and fully backed up"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    check = check_database(app.context)
    if check.ok:
        return Result(check.to_dict(), check.message)
    code = EXIT_FAILED if check.configured else EXIT_USAGE  # not configured is the configuration's to fix
    return Result(check.to_dict(), check.message, exit_code=code, error=check.message)
