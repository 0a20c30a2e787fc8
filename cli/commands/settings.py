"""`settings [--set KEY=VALUE ...]`: show the settings, or validate and save changes."""

from __future__ import annotations

import argparse

from cli.app import App, Result
from shared.errors import InvalidInputError


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("settings", parents=[common], help="show or change settings")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change a setting")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    if args.set:
        changes = _changes(args.set)
        settings = app.settings.update(changes, app.actor)
    else:
        settings = app.settings.get()
    data = settings.to_dict()
    text = "\n".join(f"{key:<24} {_as_set_takes_it(value)}" for key, value in data.items())
    return Result(data, text)


def _as_set_takes_it(value: object) -> str:
    """The value as `--set KEY=VALUE` takes it back: lists comma-separated, true/false, nothing for none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return "" if value is None else str(value)


def _changes(items: list[str]) -> dict[str, str]:
    changes: dict[str, str] = {}
    for key, value in map(_split, items):
        if key in changes:
            raise InvalidInputError(f"--set {key} is given more than once; give each setting once")
        changes[key] = value
    return changes


def _split(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise InvalidInputError(f"--set needs KEY=VALUE, got {item!r}")
    return key.strip(), value
