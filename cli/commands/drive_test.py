"""`drive-test`: say whether Google Drive is configured, reachable and writable."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.checks import check_result
from shared.models import AuditAction
from shared.services.check_audit import record_check
from shared.services.drive_check import check_drive


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("drive-test", parents=[common], help="check the Google Drive connection")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    check = check_drive(app.context)
    record_check(app.context, app.actor, AuditAction.TEST_DRIVE, check)
    return check_result(check)
