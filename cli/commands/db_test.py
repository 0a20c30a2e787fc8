"""`db-test`: say whether the configured database can be backed up and restored, changing nothing."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.checks import check_result
from shared.services.database_check import check_database


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser(
        "db-test", parents=[common], help="check that the database can be fully backed up and restored"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    return check_result(check_database(app.context))
