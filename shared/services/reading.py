"""Reading a stored backup back: pick the copy to read, and verify its SHA-256 while streaming."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from shared.errors import ChecksumMismatchError, InvalidInputError, NotFoundError
from shared.models import Backup, BackupStatus, StorageKind
from shared.pipeline import ProgressCallback
from shared.services.context import ServiceContext
from shared.time_limit import TimeLimit

_READ_ORDER = (StorageKind.LOCAL, StorageKind.DRIVE)


def require_completed(backup: Backup) -> None:
    if backup.status is not BackupStatus.COMPLETED or not backup.sha256:
        raise InvalidInputError(
            f"backup {backup.id} is {backup.status}, not completed; only completed backups can be read"
        )


def open_backup(ctx: ServiceContext, backup: Backup) -> Iterator[bytes]:
    """Stream the first copy that exists (local before Drive), verified against the recorded SHA-256:
    the iterator raises `ChecksumMismatchError` after the last byte instead of ending normally."""
    require_completed(backup)
    assert backup.sha256 is not None
    for kind in sorted((loc.kind for loc in backup.locations), key=_READ_ORDER.index):
        location = backup.location(kind)
        assert location is not None
        storage = ctx.storages.get(kind)
        if storage is not None and storage.exists(location.ref):
            return verified(storage.open(location.ref), backup.sha256, backup.file_size, backup.id)
    where = ", ".join(f"{loc.kind}:{loc.ref}" for loc in backup.locations) or "nowhere"
    raise NotFoundError(f"the file of backup {backup.id} is missing from every location ({where})")


def verified(chunks: Iterable[bytes], sha256: str, size: int | None, backup_id: str) -> Iterator[bytes]:
    """`chunks`, each passed on only once the next has been read, and the last once the whole has been
    checked: a damaged file never reaches its reader whole, even one of the recorded size."""
    digest = hashlib.sha256()
    total = 0
    held = b""
    for chunk in chunks:
        if held:
            yield held
        digest.update(chunk)
        total += len(chunk)
        held = chunk
    if digest.hexdigest() != sha256 or (size is not None and total != size):
        raise ChecksumMismatchError(
            f"the stored file of backup {backup_id} is damaged: expected {size} bytes with SHA-256 "
            f"{sha256}, read {total} bytes with SHA-256 {digest.hexdigest()}"
        )
    if held:
        yield held


def verify_backup_file(
    ctx: ServiceContext,
    backup: Backup,
    time_limit: TimeLimit | None = None,
    progress: ProgressCallback | None = None,
) -> None:
    """Read the whole file once and check it, before anything depends on it; `progress` counts its bytes."""
    chunks = open_backup(ctx, backup)
    if time_limit is not None:
        chunks = time_limit.guard(chunks, f"checking the file of backup {backup.id}")
    for _ in counted(chunks, progress):
        pass


def counted(chunks: Iterable[bytes], progress: ProgressCallback | None) -> Iterator[bytes]:
    """`chunks`, telling `progress` the bytes so far (read and stored alike: a stored file's bytes)."""
    done = 0
    for chunk in chunks:
        done += len(chunk)
        if progress is not None:
            progress(done, done)
        yield chunk
