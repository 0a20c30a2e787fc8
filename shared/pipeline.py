"""The backup stream: dump chunks → compressor → SHA-256 of stored bytes → one or more storage uploads.

The dump is read on a producer thread and compressed/written on the caller's, joined by a small
bounded queue, so reading the database and compressing overlap while memory stays flat.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from shared.compression import Compressor
from shared.errors import StorageError
from shared.models import StorageKind
from shared.storage.base import Storage, Upload

WRITE_CHUNK = 1 << 20
_QUEUE_DEPTH = 8
_DONE = object()

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


class _Producer(threading.Thread):
    """Pulls the source iterator on its own thread; hands chunks (or the exception) through a queue."""

    def __init__(self, source: Iterable[bytes]) -> None:
        super().__init__(name="dump-reader", daemon=True)
        self._source = source
        self.queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self._cancelled = threading.Event()

    def run(self) -> None:
        try:
            for chunk in self._source:
                if self._cancelled.is_set():
                    break
                self._put(chunk)
        except BaseException as exc:  # handed over to the consumer, which re-raises it
            self._put(exc)
            return
        finally:
            close = getattr(self._source, "close", None)
            if callable(close) and self._cancelled.is_set():
                close()
        self._put(_DONE)

    def _put(self, item: object) -> None:
        while not self._cancelled.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def cancel(self) -> None:
        self._cancelled.set()


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

    producer = _Producer(source)
    producer.start()
    try:
        while True:
            item = producer.queue.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
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
        if progress:
            progress(raw_size, stored_size)
        return PipelineResult(raw_size, stored_size, sha256, refs, failures)
    except BaseException:
        producer.cancel()
        for upload in live.values():
            _abort_quietly(upload)
        raise
    finally:
        producer.cancel()
        producer.join(timeout=30)


def _abort_quietly(upload: Upload) -> None:
    with contextlib.suppress(Exception):  # the original failure matters more than a failed clean-up
        upload.abort()


def _describe(failures: Mapping[StorageKind, str]) -> str:
    return "; ".join(f"{kind}: {reason}" for kind, reason in failures.items())
