"""`list`: backups, newest first, a page at a time."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.formatting import backup_table
from shared.catalog.base import BackupFilter
from shared.models import BackupSource, BackupStatus


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("list", parents=[common], help="list backups, newest first")
    parser.add_argument("--limit", type=int, default=50, help="how many (1–1000, default 50)")
    parser.add_argument("--cursor", help="next_cursor of the previous page")
    parser.add_argument("--status", choices=[str(s) for s in BackupStatus])
    parser.add_argument("--source", choices=[str(s) for s in BackupSource])
    parser.add_argument("--protected", choices=["yes", "no"], help="only protected or only unprotected")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    filter = BackupFilter(
        status=BackupStatus(args.status) if args.status else None,
        source=BackupSource(args.source) if args.source else None,
        is_protected=None if args.protected is None else args.protected == "yes",
    )
    page = app.records.list(filter, args.limit, args.cursor)
    text = backup_table(page.backups)
    if page.next_cursor:
        text += f"\nMore: --cursor {page.next_cursor}"
    return Result({"backups": [b.to_dict() for b in page.backups], "next_cursor": page.next_cursor}, text)
