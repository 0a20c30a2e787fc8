"""`create`: take a backup of the configured database now."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.formatting import describe_backup
from cli.progress import ProgressLine
from shared.models import BackupSource


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("create", parents=[common], help="take a backup now")
    parser.add_argument(
        "--source", choices=["cli", "manual"], default="cli", help="recorded source (default cli)"
    )
    parser.add_argument("--protect", action="store_true", help="protect the backup from retention")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    progress = ProgressLine("backup")
    try:
        backup = app.backups.create(
            app.actor, BackupSource(args.source), protect=args.protect, progress=progress.callback()
        )
    finally:
        progress.finish()
    return Result(backup.to_dict(), "Backup completed.\n" + describe_backup(backup))
