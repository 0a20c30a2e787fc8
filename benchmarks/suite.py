"""One engine at one dataset size: build, then alternate our backup/restore with the stock pipelines."""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pymysql

from benchmarks.dataset import build_dataset
from benchmarks.measure import OurRun, run_ours, run_stock
from benchmarks.servers import Server
from benchmarks.stock import backup_command, restore_command
from shared.dburl import DatabaseURL

Log = Callable[[str], None]
SETTLE_SECONDS = 3.0


@dataclass
class EngineFigures:
    """Everything measured for one engine at one dataset size."""

    label: str
    size_mb: float
    build_seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    our_backups: list[OurRun] = field(default_factory=list)
    stock_backups: list[float] = field(default_factory=list)
    our_restores: list[OurRun] = field(default_factory=list)
    parallel_connections: int = 0
    """PostgreSQL: our restore also measured with BACKUP_POSTGRES_RESTORE_CONNECTIONS at this (0: not)."""
    our_parallel_restores: list[OurRun] = field(default_factory=list)
    stock_restores: list[float] = field(default_factory=list)
    stock_stored_bytes: int = 0
    stock_raw_bytes: int = 0


def measure_engine(
    label: str, server: Server, size_mb: float, rounds: int, work: Path, log: Log, parallel: int = 0
) -> EngineFigures:
    """`parallel` > 1: a PostgreSQL restore is also timed loading its large tables over that many
    connections (opt-in, not all or nothing), after each stock restore."""
    figures = EngineFigures(
        label, size_mb, parallel_connections=parallel if server.engine == "postgresql" else 0
    )
    folder = work / f"{label}-{size_mb:g}mb"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = server.create_database(f"{label[:2]}{size_mb:g}")
    try:
        started = time.perf_counter()
        figures.rows = build_dataset(server, source, size_mb)
        figures.build_seconds = time.perf_counter() - started
        log(f"[{label} {size_mb:g} MB] built {figures.rows} in {figures.build_seconds:.1f} s")
        _settle(server, source, folder)
        _alternate_backups(figures, server, source, rounds, folder, log)
        _warm_up_restore(server, folder / f"stock-{rounds}.sql.gz")
        _alternate_restores(figures, server, rounds, folder, log)
    finally:
        server.drop_database(source)
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def _alternate_backups(
    figures: EngineFigures, server: Server, source: str, rounds: int, folder: Path, log: Log
) -> None:
    url = server.url(source)
    for number in range(1, rounds + 1):
        ours_name, stock_file = f"ours-{number}.sql.gz", folder / f"stock-{number}.sql.gz"
        ours = run_ours("backup", url, folder, ours_name)
        figures.our_backups.append(ours)
        log(
            f"[{figures.label} {figures.size_mb:g} MB] backup round {number}: ours {ours.wall_seconds:.2f} s "
            f"({ours.raw_bytes / 1e6:.0f} MB SQL → {ours.stored_bytes / 1e6:.1f} MB, "
            f"RSS {ours.peak_rss_mib:.0f} MiB)"
        )
        stock = run_stock(backup_command(server, source, stock_file))
        figures.stock_backups.append(stock)
        figures.stock_stored_bytes = stock_file.stat().st_size
        log(f"[{figures.label} {figures.size_mb:g} MB] backup round {number}: stock {stock:.2f} s")
        if number < rounds:  # keep only the last pair, for the restores
            (folder / ours_name).unlink()
            stock_file.unlink()
    figures.stock_raw_bytes = _gunzipped_size(folder / f"stock-{rounds}.sql.gz")


def _alternate_restores(figures: EngineFigures, server: Server, rounds: int, folder: Path, log: Log) -> None:
    ours_file, stock_file = f"ours-{rounds}.sql.gz", folder / f"stock-{rounds}.sql.gz"
    parallel = {"BACKUP_POSTGRES_RESTORE_CONNECTIONS": str(figures.parallel_connections)}
    for number in range(1, rounds + 1):
        ours = _timed_restore(server, figures, lambda url: run_ours("restore", url, folder, ours_file))
        figures.our_restores.append(ours)
        _log_restore(log, figures, number, "ours", ours)
        stock = _timed_restore(
            server, figures, lambda url: run_stock(restore_command(server, url.database, stock_file))
        )
        figures.stock_restores.append(stock)
        log(f"[{figures.label} {figures.size_mb:g} MB] restore round {number}: stock {stock:.2f} s")
        if figures.parallel_connections > 1:
            ours = _timed_restore(
                server, figures, lambda url: run_ours("restore", url, folder, ours_file, parallel)
            )
            figures.our_parallel_restores.append(ours)
            _log_restore(log, figures, number, f"ours over {figures.parallel_connections} connections", ours)


def _timed_restore[T](server: Server, figures: EngineFigures, restore: Callable[[DatabaseURL], T]) -> T:
    """Restore into a fresh empty database, check its rows, drop it."""
    target = server.create_database(f"{figures.label[:2]}r")
    server.finish_pending_writes()
    try:
        result = restore(server.url(target))
        _check_rows(server, target, figures.rows)
    finally:
        server.drop_database(target)
    return result


def _log_restore(log: Log, figures: EngineFigures, number: int, who: str, run: OurRun) -> None:
    log(
        f"[{figures.label} {figures.size_mb:g} MB] restore round {number}: "
        f"{who} {run.wall_seconds:.2f} s (RSS {run.peak_rss_mib:.0f} MiB)"
    )


def _settle(server: Server, source: str, folder: Path) -> None:
    """One untimed stock dump, then a pause: caches are warm and the server has finished flushing the
    freshly loaded data before the first timed run, whichever tool goes first."""
    run_stock(backup_command(server, source, folder / "warm-up.sql.gz"))
    (folder / "warm-up.sql.gz").unlink()
    time.sleep(SETTLE_SECONDS)


def _warm_up_restore(server: Server, stock_dump: Path) -> None:
    """PostgreSQL: one untimed stock restore, so every timed one finds recycled WAL files to write into.
    After the read-only backup rounds the server keeps few, and the first restore of a session (always
    ours) has to create and zero-fill new ones: at 1 GB it took 21.7-23 s against 17.5-18.2 s for the next.
    MariaDB's redo log is of fixed size."""
    if server.engine != "postgresql":
        return
    target = server.create_database("warm")
    try:
        run_stock(restore_command(server, target, stock_dump))
    finally:
        server.drop_database(target)


def _gunzipped_size(path: Path) -> int:

    total = 0
    with gzip.open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            total += len(block)
    return total


def _check_rows(server: Server, database: str, expected: dict[str, int]) -> None:
    """A restore that silently lost rows would make its timing meaningless."""
    found: dict[str, int] = {}
    for table in expected:
        query = f"SELECT COUNT(*) FROM {table}"
        if server.engine == "mysql":
            connection = pymysql.connect(
                host=server.host, port=server.port, user=server.user, database=database
            )
            try:
                with connection.cursor() as cursor:
                    cursor.execute(query)
                    found[table] = int(cursor.fetchone()[0])
            finally:
                connection.close()
        else:
            with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=database) as pg:
                row = pg.execute(query.encode()).fetchone()
                found[table] = int(row[0]) if row else -1
    if found != expected:
        raise RuntimeError(f"restored {database} holds {found} rows, expected {expected}")
