"""`restore ID [--force]`: replace the database with a backup, after a pre-restore backup."""

from __future__ import annotations

import argparse
import sys

from cli.app import App, Result
from cli.progress import ProgressLine
from shared.errors import InvalidInputError
from shared.models import AuditAction
from shared.services.refusals import refusals_audited


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("restore", parents=[common], help="restore the database from a backup")
    parser.add_argument("id")
    parser.add_argument("--force", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    with refusals_audited(app.context.auditor, app.actor, AuditAction.RESTORE, args.id):
        _, backup = app.restores.restorable(args.id)  # refused before anyone is asked to confirm
    if not args.force:
        _confirm(app, backup.id)
    progress = ProgressLine("restore")
    try:
        outcome = app.restores.restore(backup.id, app.actor, phase_progress=progress.phase_callback())
    finally:
        progress.finish()
    data = {
        "id": outcome.backup.id,
        "restored": True,
        "database": app.config.require_database().database,
        "pre_restore_backup": outcome.pre_restore_backup.to_dict(),
    }
    text = (
        f"Restored backup {outcome.backup.id} into {data['database']}.\n"
        f"The database as it was before is kept as backup {outcome.pre_restore_backup.id}."
    )
    return Result(data, text)


def _confirm(app: App, backup_id: str) -> None:
    database = app.config.require_database().database
    if not sys.stdin.isatty():
        raise InvalidInputError(
            "restore replaces the database; pass --force to confirm when there is no terminal"
        )
    sys.stderr.write(
        f"This replaces ALL contents of database {database!r} with backup {backup_id}.\n"
        f"A pre-restore backup is taken first. Type the backup id to confirm: "
    )
    sys.stderr.flush()
    if sys.stdin.readline().strip() != backup_id:
        raise InvalidInputError("confirmation did not match the backup id; nothing was changed")
