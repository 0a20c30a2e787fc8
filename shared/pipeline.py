"""The backup stream: dump chunks → compressor → SHA-256 of stored bytes → one or more storage uploads.

The dump is read on a background thread (`shared.prefetch`) and compressed/written on the caller's,
joined by a small bounded queue, so reading the database and compressing overlap while memory stays flat.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from shared.compression import Compressor
from shared.errors import StorageError
from shared.models import StorageKind
from shared.prefetch import prefetched
from shared.storage.base import Storage, Upload

WRITE_CHUNK = 1 << 20
_QUEUE_DEPTH = 8

ProgressCallback = Callable[[int, int], None]
"""Called with (raw bytes read so far, stored bytes written so far)."""


@dataclass
class PipelineResult:
    raw_size: int
    stored_size: int
    sha256: str
    refs: dict[StorageKind, str] = field(default_factory=dict)
    """Each storage that holds the complete, verified file, and its reference there."""
    failures: dict[StorageKind, str] = field(default_factory=dict)
    """Each storage that failed, and why. Its partial file has been removed."""


def begin_uploads(
    storages: Mapping[StorageKind, Storage], filename: str
) -> tuple[dict[StorageKind, Upload], dict[StorageKind, str]]:
    """Start a file in every storage. One that refuses is recorded as failed; raises `StorageError`
    only when none could start."""
    uploads: dict[StorageKind, Upload] = {}
    failures: dict[StorageKind, str] = {}
    for kind, storage in storages.items():
        try:
            uploads[kind] = storage.begin(filename)
        except Exception as exc:
            failures[kind] = str(exc) or type(exc).__name__
    if not uploads:
        raise StorageError("every storage target failed: " + _describe(failures))
    return uploads, failures


def run_pipeline(
    source: Iterable[bytes],
    compressor: Compressor,
    uploads: Mapping[StorageKind, Upload],
    progress: ProgressCallback | None = None,
) -> PipelineResult:
    """Stream `source` through `compressor` into every upload and commit them.

    A storage that fails is aborted and recorded in `failures`; the others go on. Raises `StorageError`
    when no storage holds the file at the end. Any error from the source (a failed dump) aborts every
    upload and propagates: nothing partial is left behind.
    """
    live: dict[StorageKind, Upload] = dict(uploads)
    failures: dict[StorageKind, str] = {}
    digest = hashlib.sha256()
    raw_size = stored_size = 0
    pending = bytearray()

    def emit(data: bytes) -> None:
        nonlocal stored_size
        digest.update(data)
        stored_size += len(data)
        for kind, upload in list(live.items()):
            try:
                upload.write(data)
            except Exception as exc:
                _drop(kind, upload, exc)

    def _drop(kind: StorageKind, upload: Upload, exc: BaseException) -> None:
        failures[kind] = str(exc) or type(exc).__name__
        del live[kind]
        _abort_quietly(upload)
        if not live:
            raise StorageError("every storage target failed: " + _describe(failures))

    chunks = prefetched(source, _QUEUE_DEPTH, "dump-reader")
    try:
        for item in chunks:
            raw_size += len(item)
            pending += compressor.compress(item)
            if len(pending) >= WRITE_CHUNK:
                emit(bytes(pending))
                pending.clear()
            if progress:
                progress(raw_size, stored_size)
        pending += compressor.flush()
        if pending:
            emit(bytes(pending))
        if progress:
            progress(raw_size, stored_size)
        sha256 = digest.hexdigest()
        refs: dict[StorageKind, str] = {}
        for kind, upload in list(live.items()):
            try:
                refs[kind] = upload.commit(sha256, stored_size)
            except Exception as exc:
                failures[kind] = str(exc) or type(exc).__name__
                _abort_quietly(upload)
        if not refs:
            raise StorageError("every storage target failed: " + _describe(failures))
        return PipelineResult(raw_size, stored_size, sha256, refs, failures)
    except BaseException:
        for upload in live.values():
            _abort_quietly(upload)
        raise
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


def _abort_quietly(upload: Upload) -> None:
    with contextlib.suppress(Exception):  # the original failure matters more than a failed clean-up
        upload.abort()


def _describe(failures: Mapping[StorageKind, str]) -> str:
    return "; ".join(f"{kind}: {reason}" for kind, reason in failures.items())
