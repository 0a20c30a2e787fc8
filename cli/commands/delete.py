"""`delete ID`: remove a backup's files everywhere, then its record."""

from __future__ import annotations

import argparse

from cli.app import App, Result


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("delete", parents=[common], help="delete a backup and its files")
    parser.add_argument("id")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    backup = app.records.delete(args.id, app.actor)
    return Result({"id": backup.id, "deleted": True}, f"Deleted backup {backup.id}.")
