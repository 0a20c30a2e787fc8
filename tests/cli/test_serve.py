"""`serve`: a port that cannot be had is a clear exit 2; with --json stdout holds one JSON object only
(Flask's banner and werkzeug's lines stay off it); Ctrl-C and SIGTERM end it as an interruption."""

from __future__ import annotations

import signal
import socket
import urllib.error
import urllib.request

import pytest

from tests.cli.running import Cli, finished, wait_until
from tests.server_processes import free_port


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/list_backups", timeout=5) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError:
        return True
    except OSError:  # not listening yet
        return False


def test_a_port_in_use_is_named(cli: Cli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        run = cli("serve", "--port", str(port), "--json")
    assert run.code == 2, run.stderr
    assert run.json["error"].startswith(f"cannot listen on 127.0.0.1:{port}: Address already in use")
    assert run.stderr.strip() == f"error: {run.json['error']}"


@pytest.mark.parametrize(("stop", "said"), [(signal.SIGINT, "Ctrl-C"), (signal.SIGTERM, "SIGTERM")])
def test_a_stopped_server_is_an_interruption_with_a_clean_stdout(
    cli: Cli, stop: signal.Signals, said: str
) -> None:
    cli.env["BACKUP_AUTH_DISABLED"] = "true"
    port = free_port()
    process = cli.start("serve", "--port", str(port), "--json")
    wait_until(lambda: _answers(port), process, "listening")
    process.send_signal(stop)
    run = finished(process)
    assert run.code == 130, run.stderr
    assert run.json == {"error": f"interrupted ({said})", "exit_code": 130}
    assert f"http://127.0.0.1:{port}/" in run.stderr and "GET /list_backups" in run.stderr


def test_a_server_loop_that_stops_by_itself_fails_the_command() -> None:
    """Not "stopped" with exit 0: the loop's own error ends the command as a failure."""
    from werkzeug.serving import make_server

    from cli.commands.serve import _serve_until_interrupted, build_app

    server = make_server("127.0.0.1", 0, build_app(), threaded=True)
    server.socket.close()  # its loop's next wait on the socket fails
    with pytest.raises(RuntimeError, match="the server stopped serving: "):
        _serve_until_interrupted(server)
