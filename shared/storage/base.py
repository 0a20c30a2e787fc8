"""The `Storage` seam: stream a file in, stream it out, delete it, check it, test the connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from shared.models import StorageKind


class Upload(Protocol):
    """One file being written. Bytes arrive by `write`; nothing is visible until `commit` succeeds."""

    def write(self, data: bytes) -> None: ...

    def commit(self, sha256: str, size: int) -> str:
        """Finish the file, verify that the storage holds `size` bytes with this SHA-256 (hex) where it
        can tell, and return the reference that `open`/`delete` take. Raises `StorageError`
        (`ChecksumMismatchError` on a mismatch) and then leaves nothing behind."""
        ...

    def abort(self) -> None:
        """Drop the partial file. Safe to call more than once and after a failed commit."""
        ...


class Storage(Protocol):
    kind: StorageKind

    def begin(self, filename: str) -> Upload:
        """Start writing a new file named `filename` (a plain name, no folders)."""
        ...

    def open(self, ref: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream a stored file. Raises `NotFoundError` when it is gone, `StorageError` otherwise."""
        ...

    def delete(self, ref: str) -> None:
        """Remove a stored file. A file that is already gone is not an error."""
        ...

    def exists(self, ref: str) -> bool: ...

    def discard_leftovers(self, filename: str) -> None:
        """Remove whatever uploads of `filename` left when their process died before its backup's record
        was completed: partial data, and the file itself if it was committed but never recorded. Only for
        a backup that will never complete (file names are unique per backup)."""
        ...

    def test_connection(self) -> None:
        """Raise `StorageError` saying what is wrong unless the storage is reachable and writable."""
        ...
