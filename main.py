"""Entry points: the Cloud Functions targets (one per operation) and the ops command line
(`python main.py <command>`).

Each target imports its operation when first called, so the command line starts without them."""

from __future__ import annotations

import sys

import flask
import functions_framework


@functions_framework.http
def list_backups(request: flask.Request) -> flask.Response:
    from functions import list_backups as operation

    return operation.handle(request)


@functions_framework.http
def create_backup(request: flask.Request) -> flask.Response:
    from functions import create_backup as operation

    return operation.handle(request)


@functions_framework.http
def delete_backup(request: flask.Request) -> flask.Response:
    from functions import delete_backup as operation

    return operation.handle(request)


@functions_framework.http
def download_backup(request: flask.Request) -> flask.Response:
    from functions import download_backup as operation

    return operation.handle(request)


@functions_framework.http
def restore_backup(request: flask.Request) -> flask.Response:
    from functions import restore_backup as operation

    return operation.handle(request)


@functions_framework.http
def cleanup_backups(request: flask.Request) -> flask.Response:
    from functions import cleanup_backups as operation

    return operation.handle(request)


@functions_framework.http
def backup_settings(request: flask.Request) -> flask.Response:
    from functions import backup_settings as operation

    return operation.handle(request)


@functions_framework.http
def scheduled_backup(request: flask.Request) -> flask.Response:
    from functions import scheduled_backup as operation

    return operation.handle(request)


@functions_framework.http
def scheduled_cleanup(request: flask.Request) -> flask.Response:
    from functions import scheduled_cleanup as operation

    return operation.handle(request)


if __name__ == "__main__":
    from cli.main import main

    sys.exit(main())
