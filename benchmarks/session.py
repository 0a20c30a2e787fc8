"""A whole benchmark session: every size × engine, then the summary printed and saved under .work/."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import render
from benchmarks.servers import SERVERS
from benchmarks.stock import PSQL_RESTORE_FLAGS
from benchmarks.suite import EngineFigures, measure_engine

WORK = Path(__file__).resolve().parent / ".work"


def _log(line: str) -> None:
    print(line, flush=True)


def _tool_versions() -> str:
    versions = []
    for command in (["mariadb-dump", "--version"], ["pg_dump", "--version"], ["gzip", "--version"]):
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        versions.append(finished.stdout.splitlines()[0] if finished.stdout else f"{command[0]}: not found")
    return "; ".join(versions)


def _machine() -> str:
    return (
        f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
    )


def run_session(
    sizes: Sequence[float], rounds: int, engines: Sequence[str], command: str, parallel_restore: int = 0
) -> None:
    unknown = [engine for engine in engines if engine not in SERVERS]
    if unknown:
        raise SystemExit(f"unknown engine(s) {unknown}; choose from {sorted(SERVERS)}")
    WORK.mkdir(exist_ok=True)
    started = datetime.datetime.now().astimezone()
    header = [
        f"Command: `{command}`",
        f"Started: {started:%Y-%m-%d %H:%M %Z}; load average at start {os.getloadavg()[0]:.2f}",
        f"Machine: {_machine()}",
        f"Tools: {_tool_versions()}",
        f"Stock restore flags: mariadb (none; the dump sets its own session), psql {PSQL_RESTORE_FLAGS} "
        "(one transaction, stop at the first error, like our restore); "
        "stock dumps: mariadb-dump --single-transaction --quick, pg_dump (plain, defaults)",
    ]
    for line in header:
        _log(line)
    results: list[EngineFigures] = []
    for size in sizes:
        for engine in engines:
            results.append(
                measure_engine(engine, SERVERS[engine], size, rounds, WORK, _log, parallel_restore)
            )
    finished = datetime.datetime.now().astimezone()
    footer = f"Finished: {finished:%H:%M %Z}; load average at end {os.getloadavg()[0]:.2f}"
    summary = "\n".join([*header, footer, "", render(results)])
    _log("\n" + summary)
    (WORK / f"results-{started:%Y%m%d-%H%M%S}.md").write_text(summary + "\n")
