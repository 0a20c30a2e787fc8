"""`db-test`: say whether the configured database can be backed up and restored, changing nothing."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.checks import check_result
from shared.models import AuditAction
from shared.services.check_audit import record_check
from shared.services.database_check import check_database


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser(
        "db-test", parents=[common], help="check that the database can be fully backed up and restored"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    check = check_database(app.context)
    record_check(app.context, app.actor, AuditAction.TEST_DATABASE, check)
    return check_result(check)
