"""`protect ID` / `unprotect ID`: exempt a backup from retention, or stop exempting it."""

from __future__ import annotations

import argparse

from cli.app import App, Result


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    for name, protected in (("protect", True), ("unprotect", False)):
        parser = sub.add_parser(
            name, parents=[common], help=f"{name} a backup (retention never deletes protected)"
        )
        parser.add_argument("id")
        parser.set_defaults(run=run, protected=protected)


def run(args: argparse.Namespace, app: App) -> Result:
    backup = app.records.set_protected(args.id, args.protected, app.actor)
    word = "Protected" if backup.is_protected else "Unprotected"
    return Result(backup.to_dict(), f"{word} backup {backup.id}.")
