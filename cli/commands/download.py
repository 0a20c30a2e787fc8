"""`download ID -o FILE`: write a backup's file, verified against its SHA-256; nothing is left on failure."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from cli.app import App, Result
from cli.progress import ProgressLine
from shared.errors import InvalidInputError


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("download", parents=[common], help="save a backup's file")
    parser.add_argument("id")
    parser.add_argument("-o", "--output", required=True, type=Path, help="file to write (must not exist)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    target: Path = args.output
    if target.exists():
        raise InvalidInputError(f"{target} exists already; choose another file name or remove it")
    if not target.parent.is_dir():
        raise InvalidInputError(f"the folder {target.parent} does not exist")
    backup, chunks = app.downloads.open(args.id, app.actor)
    partial = target.with_name(f".{target.name}.partial")
    progress = ProgressLine("download")
    written = 0
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                written += len(chunk)
                progress.update(written, written) if progress.enabled else None
            handle.flush()
            os.fsync(handle.fileno())
        partial.rename(target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    finally:
        progress.finish()
    data = {"id": backup.id, "file": str(target), "bytes": written, "sha256": backup.sha256}
    return Result(data, f"Wrote {target} ({written} bytes, SHA-256 verified).")
