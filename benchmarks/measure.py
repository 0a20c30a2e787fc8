"""Runs and times one backup or restore: ours in a child Python process, or a stock shell pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.dburl import DatabaseURL

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class OurRun:
    wall_seconds: float
    """From starting the child process to its exit (interpreter start and imports included)."""
    pipeline_seconds: float
    """Inside the child: the backup or restore call alone."""
    raw_bytes: int
    stored_bytes: int
    peak_rss_mib: float
    children_peak_rss_mib: float
    """pg_dump or psql, which the PostgreSQL engine runs; 0 for MariaDB."""


class RunFailed(RuntimeError):
    """A timed run exited non-zero: its figures would mean nothing."""


def run_ours(
    operation: str, url: DatabaseURL, folder: Path, filename: str, settings: dict[str, str] | None = None
) -> OurRun:
    """`settings`: the service's variables for the child, e.g. BACKUP_POSTGRES_RESTORE_CONNECTIONS."""
    environment = {
        **os.environ,
        **(settings or {}),
        "BENCH_DATABASE_URL": _url_text(url),
        "PYTHONPATH": str(REPO_ROOT),
    }
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, "-m", "benchmarks.one_run", operation, str(folder), filename],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RunFailed(
            f"our {operation} of {url} failed: {finished.stderr.decode(errors='replace')[-2000:]}"
        )
    figures = json.loads(finished.stdout.decode().strip().splitlines()[-1])
    return OurRun(
        wall_seconds=wall,
        pipeline_seconds=figures["seconds"],
        raw_bytes=int(figures["raw_bytes"]),
        stored_bytes=int(figures["stored_bytes"]),
        peak_rss_mib=figures["peak_rss_kib"] / 1024,
        children_peak_rss_mib=figures["children_peak_rss_kib"] / 1024,
    )


def run_stock(command: str) -> float:
    """Seconds the shell pipeline took; raises `RunFailed` when any part of it failed."""
    started = time.perf_counter()
    finished = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise RunFailed(f"`{command}` failed: {finished.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def _url_text(url: DatabaseURL) -> str:
    """The URL for the child; the local servers need no password, so none is ever passed."""
    scheme = "mysql" if url.engine == "mysql" else "postgresql"
    return f"{scheme}://{url.user}@{url.host}:{url.port}/{url.database}"
