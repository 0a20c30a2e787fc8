"""`serve [--host H] [--port N]`: every function on one local port, a path each (`/list_backups`, …)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

import flask

from cli.app import App, Result

_log = logging.getLogger("backup.serve")


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("serve", parents=[common], help="run all functions locally on one port")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.set_defaults(run=run)


def build_app() -> flask.Flask:
    """One Flask app with a route per function, each calling the function's own handler."""
    from functions.registry import FUNCTIONS  # imported here so other commands start without it

    app = flask.Flask("backup-functions")
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    for name, (_endpoint, handler) in FUNCTIONS.items():
        app.add_url_rule(f"/{name}", name, _view(handler), methods=methods)
    return app


def _view(handler: Callable[[flask.Request], flask.Response]) -> Callable[[], flask.Response]:
    def view() -> flask.Response:
        return handler(flask.request)

    return view


def run(args: argparse.Namespace, app: App) -> Result:
    from functions import runtime
    from functions.registry import FUNCTIONS

    runtime.install(runtime.Runtime.from_config(app.config, app.context))
    server = build_app()
    logging.getLogger().setLevel(logging.INFO)
    _log.warning("serving %s on http://%s:%d/<function>", ", ".join(FUNCTIONS), args.host, args.port)
    server.run(host=args.host, port=args.port, threaded=True)
    return Result({"served": list(FUNCTIONS)}, "stopped")
