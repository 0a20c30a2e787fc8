"""One of our backups or restores in its own process, so its peak RSS is ours alone.

    BENCH_DATABASE_URL=mysql://root@127.0.0.1:3306/db python -m benchmarks.one_run backup DIR NAME
    BENCH_DATABASE_URL=... python -m benchmarks.one_run restore DIR NAME
    BENCH_DATABASE_URL=... BACKUP_POSTGRES_RESTORE_CONNECTIONS=2 python -m benchmarks.one_run restore DIR NAME

Prints one JSON line: seconds, raw and stored bytes, and the peak RSS of this process and of its children
(pg_dump for a PostgreSQL backup). The URL comes from the environment so no password is ever an argument.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from shared.compression import decompress_stream, make_compressor
from shared.dburl import parse_database_url
from shared.engines.base import DumpOptions, DumpReport, engine_for
from shared.models import Compression, StorageKind
from shared.pipeline import run_pipeline
from shared.storage.local import LocalStorage

URL_VARIABLE = "BENCH_DATABASE_URL"
RESTORE_CONNECTIONS_VARIABLE = "BACKUP_POSTGRES_RESTORE_CONNECTIONS"


def backup(folder: Path, name: str) -> dict[str, float]:
    engine = engine_for(parse_database_url(os.environ[URL_VARIABLE], setting=URL_VARIABLE))
    result = run_pipeline(
        engine.dump(DumpReport()),
        make_compressor(Compression.GZIP),
        {StorageKind.LOCAL: LocalStorage(folder).begin(name)},
    )
    return {"raw_bytes": result.raw_size, "stored_bytes": result.stored_size}


def restore(folder: Path, name: str) -> dict[str, float]:
    connections = int(os.environ.get(RESTORE_CONNECTIONS_VARIABLE, "1"))
    engine = engine_for(
        parse_database_url(os.environ[URL_VARIABLE], setting=URL_VARIABLE),
        DumpOptions(postgres_restore_connections=connections),
    )
    counter = _ByteCounter(decompress_stream(LocalStorage(folder).open(name)))
    engine.restore(counter)
    return {"raw_bytes": counter.total, "stored_bytes": (folder / name).stat().st_size}


class _ByteCounter:
    """Passes chunks through, counting their bytes."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.total += len(chunk)
            yield chunk


def _load_what_a_warm_function_has_loaded(operation: str) -> None:
    """Import the restorer's driver before the clock starts, so `seconds` is the pipeline's own time.

    A PostgreSQL restore imports psycopg on first use (~0.1 s), which a warm function has done already;
    the time around this whole process, start-up included, is measured by the caller anyway.
    """
    url = parse_database_url(os.environ[URL_VARIABLE], setting=URL_VARIABLE)
    if operation == "restore" and url.engine == "postgresql":
        importlib.import_module("shared.engines.postgres.restorer")


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[0] not in ("backup", "restore"):
        raise SystemExit("usage: python -m benchmarks.one_run backup|restore FOLDER FILENAME")
    operation, folder, name = argv[0], Path(argv[1]), argv[2]
    _load_what_a_warm_function_has_loaded(operation)
    started = time.perf_counter()
    figures = (backup if operation == "backup" else restore)(folder, name)
    figures["seconds"] = time.perf_counter() - started
    figures["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures["children_peak_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
