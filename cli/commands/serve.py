"""`serve [--host H] [--port N]`: every function on one local port, a path each (`/list_backups`, …)."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import socket
import threading
from collections.abc import Callable

import flask
from werkzeug.serving import BaseWSGIServer, make_server

from cli.app import App, Result
from shared.errors import InvalidInputError

_log = logging.getLogger("backup.serve")


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("serve", parents=[common], help="run all functions locally on one port")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8080, help="port, 1-65535 (default 8080)")
    parser.set_defaults(run=run)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


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
    """Serve until Ctrl-C or SIGTERM, which end the command as an interruption (exit 130)."""
    from functions import runtime
    from functions.registry import FUNCTIONS

    listening = _listen(args.host, args.port)
    runtime.install(runtime.Runtime.from_config(app.config, app.context))
    server = make_server(args.host, args.port, build_app(), threaded=True, fd=listening.fileno())
    listening.close()  # the server holds its own duplicate
    logging.getLogger().setLevel(logging.INFO)  # werkzeug's request lines, on stderr
    _log.warning("serving %s on http://%s:%d/<function>", ", ".join(FUNCTIONS), args.host, args.port)
    _serve_until_interrupted(server)
    return Result({"served": list(FUNCTIONS)}, "stopped")


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket; one that cannot be had (port in use, no such address) is the user's to fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        code = exc.errno or 0  # a failed host-name lookup's is negative, no errno
        # create_server's strerror repeats the address, so take the system's words where there are any
        reason = os.strerror(code) if code > 0 else exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason += " (another program listens there; stop it or choose another --port)"
        raise InvalidInputError(f"cannot listen on {host}:{port}: {reason}") from exc


def _serve_until_interrupted(server: BaseWSGIServer) -> None:
    """Serve on a thread of its own: werkzeug's loop swallows KeyboardInterrupt, which here must end the
    command, with the signal that raised it. A loop that stops by itself is a failure, raised here."""
    stopped: list[BaseException] = []

    def serve() -> None:
        try:
            server.serve_forever()
        except BaseException as exc:
            stopped.append(exc)

    worker = threading.Thread(target=serve, name="http-server", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.5)
    finally:
        # shutdown() waits for the loop to notice; on a thread of its own it cannot hang the exit.
        threading.Thread(target=server.shutdown, name="http-shutdown", daemon=True).start()
        worker.join(5)
    if stopped:
        raise RuntimeError(f"the server stopped serving: {stopped[0]}") from stopped[0]
    raise RuntimeError("the server stopped serving without saying why")
