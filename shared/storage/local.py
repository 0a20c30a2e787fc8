"""`LocalStorage`: backup files in a folder, written to a hidden temp file and renamed into place."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from shared.errors import ChecksumMismatchError, InvalidInputError, NotFoundError, StorageError
from shared.models import StorageKind
from shared.storage.filenames import check_filename

PARTIAL_PREFIX = ".partial-"
_WRITE_BUFFER = 1 << 20
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK}


def _write_error(path: Path, exc: OSError) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(f"the disk is full: cannot write {path.parent}; free space there and retry")
    return StorageError(f"cannot write {path}: {exc.strerror or exc}")


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class LocalUpload:
    """One file being written; it only appears under its name once `commit` has verified it."""

    def __init__(self, root: Path, filename: str) -> None:
        self._target = root / filename
        self._partial = root / f"{PARTIAL_PREFIX}{filename}-{uuid.uuid4().hex}"
        self._digest = hashlib.sha256()
        self._size = 0
        self._finished = False
        try:
            descriptor = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise _write_error(self._partial, exc) from exc
        self._file: BinaryIO | None = os.fdopen(descriptor, "wb", buffering=_WRITE_BUFFER)

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise StorageError(f"{self._target.name} is no longer open for writing")
        try:
            self._file.write(data)
        except OSError as exc:
            self.abort()
            raise _write_error(self._partial, exc) from exc
        self._digest.update(data)
        self._size += len(data)

    def commit(self, sha256: str, size: int) -> str:
        if self._file is None:
            raise StorageError(f"{self._target.name} is no longer open for writing")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        except OSError as exc:
            self.abort()
            raise _write_error(self._partial, exc) from exc
        self._file = None
        if self._size != size or self._digest.hexdigest() != sha256.lower():
            self.abort()
            raise ChecksumMismatchError(
                f"{self._target.name}: wrote {self._size} bytes with SHA-256 {self._digest.hexdigest()}, "
                f"expected {size} bytes with SHA-256 {sha256}; nothing was kept"
            )
        self._publish()
        self._finished = True
        return self._target.name

    def _publish(self) -> None:
        """Give the verified temp file its name, never replacing a file that has it already."""
        try:
            os.link(self._partial, self._target)
        except FileExistsError as exc:
            self.abort()
            raise StorageError(f"a backup file named {self._target.name} exists already") from exc
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                self.abort()
                raise _write_error(self._target, exc) from exc
            self._rename_without_links()
        self._partial.unlink(missing_ok=True)
        try:
            _fsync_folder(self._target.parent)
        except OSError as exc:
            raise _write_error(self._target, exc) from exc

    def _rename_without_links(self) -> None:
        """For file systems without hard links: check, then rename (a tiny race the link avoids)."""
        if self._target.exists():
            self.abort()
            raise StorageError(f"a backup file named {self._target.name} exists already")
        try:
            os.rename(self._partial, self._target)
        except OSError as exc:
            self.abort()
            raise _write_error(self._target, exc) from exc

    def abort(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):  # a flush into a full disk fails again; the file goes anyway
                self._file.close()
            self._file = None
        if not self._finished:
            self._partial.unlink(missing_ok=True)


class LocalStorage:
    """Backup files in one folder; a ref is the file's name in that folder."""

    kind = StorageKind.LOCAL

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, ref: str) -> Path:
        return self.root / check_filename(ref)

    def begin(self, filename: str) -> LocalUpload:
        check_filename(filename)
        self._make_root()
        return LocalUpload(self.root, filename)

    def open(self, ref: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        if chunk_size < 1:
            raise InvalidInputError(f"chunk_size must be positive (got {chunk_size})")
        path = self._path(ref)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise NotFoundError(f"backup file {ref!r} is not in {self.root}") from exc
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return self._chunks(handle, path, chunk_size)

    @staticmethod
    def _chunks(handle: BinaryIO, path: Path, chunk_size: int) -> Iterator[bytes]:
        with handle:
            while True:
                try:
                    chunk = handle.read(chunk_size)
                except OSError as exc:
                    raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
                if not chunk:
                    return
                yield chunk

    def delete(self, ref: str) -> None:
        path = self._path(ref)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {path}: {exc.strerror or exc}") from exc

    def exists(self, ref: str) -> bool:
        return self._path(ref).is_file()

    def discard_leftovers(self, filename: str) -> None:
        partial = f"{PARTIAL_PREFIX}{check_filename(filename)}-"
        if not self.root.is_dir():
            return
        for path in self.root.iterdir():
            if path.name == filename or path.name.startswith(partial):
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    raise StorageError(f"cannot delete {path}: {exc.strerror or exc}") from exc

    def test_connection(self) -> None:
        self._make_root()
        probe = self.root / f".probe-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"probe")
            probe.unlink()
        except OSError as exc:
            with contextlib.suppress(OSError):
                probe.unlink(missing_ok=True)
            raise StorageError(
                f"backup folder {self.root} is not writable: {exc.strerror or exc}; "
                "fix its permissions or choose another folder"
            ) from exc

    def _make_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the backup folder {self.root}: {exc.strerror or exc}") from exc
        if not self.root.is_dir():
            raise StorageError(f"backup folder {self.root} is not a folder")
