"""What the tests' throwaway database servers share: a free port to listen on, and a clean stop."""

from __future__ import annotations

import socket
import subprocess

SHUTDOWN_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to shut down cleanly; kill it if it has not within SHUTDOWN_SECONDS."""
    process.terminate()
    try:
        process.wait(timeout=SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SHUTDOWN_SECONDS)
