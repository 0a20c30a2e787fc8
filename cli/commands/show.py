"""`show ID`: one backup's record."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from cli.formatting import describe_backup


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("show", parents=[common], help="show one backup")
    parser.add_argument("id")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    backup = app.records.show(args.id)
    return Result(backup.to_dict(), describe_backup(backup))
