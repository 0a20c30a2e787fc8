"""`download ID -o FILE`: write a backup's file, verified against its SHA-256; nothing is left on failure.

The bytes go to a temporary file of a unique name next to FILE, readable by its owner only (as the stored
copies are), which becomes FILE only once complete and verified, and only if FILE still does not exist:
two downloads to the same FILE never overwrite each other, and neither does one over a symlink."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cli.app import App, Result
from cli.progress import ProgressLine
from shared.errors import InvalidInputError

_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}
"""What link(2) fails with on a file system without hard links (FAT, some network mounts)."""


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = sub.add_parser("download", parents=[common], help="save a backup's file")
    parser.add_argument("id")
    parser.add_argument("-o", "--output", required=True, type=Path, help="file to write (must not exist)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, app: App) -> Result:
    target: Path = args.output
    _refuse_existing(target)
    if not target.parent.is_dir():
        raise InvalidInputError(f"the folder {target.parent} does not exist")
    backup, chunks = app.downloads.open(args.id, app.actor)
    progress = ProgressLine("download")
    try:
        written = _save(chunks, target, progress)
    finally:
        progress.finish()
    data = {"id": backup.id, "file": str(target), "bytes": written, "sha256": backup.sha256}
    return Result(data, f"Wrote {target} ({written} bytes, SHA-256 verified).")


def _save(chunks: Iterator[bytes], target: Path, progress: ProgressLine) -> int:
    """Write `chunks` to `target` by way of a temporary file, removed on every failure; the byte count."""
    with _unwritable_as_input(target):
        descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            written = _write_all(chunks, handle, target, progress)
        _publish(temporary, target)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    return written


def _write_all(chunks: Iterator[bytes], handle: BinaryIO, target: Path, progress: ProgressLine) -> int:
    written = 0
    for chunk in chunks:  # errors reading the stored copy are the download's own, not the target's
        with _unwritable_as_input(target):
            handle.write(chunk)
        written += len(chunk)
        if progress.enabled:
            progress.update(written, written)
    with _unwritable_as_input(target):
        handle.flush()
        os.fsync(handle.fileno())
    return written


def _publish(temporary: Path, target: Path) -> None:
    """Give the complete file its name, unless something has taken that name meanwhile."""
    with _unwritable_as_input(target):
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise _exists(target, " (it appeared while the download ran)") from None
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise
            _refuse_existing(target)
            os.rename(temporary, target)  # no hard links here: only this last step can race


def _refuse_existing(target: Path) -> None:
    if os.path.lexists(target):  # a symlink counts, even a dangling one
        raise _exists(target)


def _exists(target: Path, when: str = "") -> InvalidInputError:
    return InvalidInputError(f"{target} exists already{when}; choose another file name or remove it")


@contextlib.contextmanager
def _unwritable_as_input(target: Path) -> Iterator[None]:
    """A target that cannot be written (no permission, read-only, full disk) is the user's to fix: say so
    naming their path, not the temporary file's."""
    try:
        yield
    except InvalidInputError:
        raise
    except OSError as exc:
        raise InvalidInputError(f"cannot write {target}: {exc.strerror or exc}") from exc
