"""Reading a stored backup back: pick the copy to read, and verify its SHA-256 while streaming."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from shared.errors import ChecksumMismatchError, InvalidInputError, NotFoundError
from shared.models import AuditAction, Backup, BackupStatus, StorageKind
from shared.pipeline import ProgressCallback
from shared.services.context import ServiceContext
from shared.services.leftovers import add_warnings
from shared.storage.base import Storage
from shared.time_limit import TimeLimit

_READ_ORDER = (StorageKind.LOCAL, StorageKind.DRIVE)
_log = logging.getLogger("backup.reading")


@dataclass(frozen=True)
class StoredCopy:
    kind: StorageKind
    ref: str
    storage: Storage

    def __str__(self) -> str:
        return f"the {self.kind} copy ({self.ref})"


@dataclass(frozen=True)
class VerifiedCopy:
    """The copy that passed its checksum check, and why each copy read before it did not."""

    kind: StorageKind
    damaged: tuple[str, ...] = ()


def require_completed(backup: Backup) -> None:
    if backup.status is not BackupStatus.COMPLETED or not backup.sha256:
        raise InvalidInputError(
            f"backup {backup.id} is {backup.status}, not completed; only completed backups can be read"
        )


def stored_copies(ctx: ServiceContext, backup: Backup) -> Iterator[StoredCopy]:
    """The copies of `backup` that exist, in the order to read them (local before Drive); a storage is
    asked only once the copies before it have been taken."""
    for kind in sorted((loc.kind for loc in backup.locations), key=_READ_ORDER.index):
        location = backup.location(kind)
        assert location is not None
        storage = ctx.storages.get(kind)
        if storage is not None and storage.exists(location.ref):
            yield StoredCopy(kind, location.ref, storage)


def open_backup(ctx: ServiceContext, backup: Backup, kind: StorageKind | None = None) -> Iterator[bytes]:
    """Stream the first copy that exists (local before Drive), or the one in `kind`, verified against the
    recorded SHA-256: the iterator raises `ChecksumMismatchError` after the last byte instead of ending
    normally."""
    require_completed(backup)
    for copy in stored_copies(ctx, backup):
        if kind is None or copy.kind is kind:
            return open_copy(backup, copy)
    raise missing_file_error(backup)


def open_copy(backup: Backup, copy: StoredCopy) -> Iterator[bytes]:
    """Stream `copy` of `backup`, verified as `open_backup` does."""
    require_completed(backup)
    assert backup.sha256 is not None
    return verified(copy.storage.open(copy.ref), backup.sha256, backup.file_size, backup.id)


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
) -> VerifiedCopy:
    """Read a whole copy once and check it, before anything depends on it; `progress` counts its bytes
    (from 0 again for each copy read). A damaged copy is passed over for the next (local before Drive):
    the answer says which copy to read. Raises `ChecksumMismatchError` when every copy is damaged."""
    damaged: list[str] = []
    last_error: ChecksumMismatchError | None = None
    for copy in stored_copies(ctx, backup):
        chunks = open_copy(backup, copy)
        if time_limit is not None:
            chunks = time_limit.guard(chunks, f"checking the file of backup {backup.id}")
        try:
            for _ in counted(chunks, progress):
                pass
        except ChecksumMismatchError as exc:
            damaged.append(_damage(copy, exc))
            last_error = exc
            continue
        return VerifiedCopy(copy.kind, tuple(damaged))
    if last_error is None:
        raise missing_file_error(backup)
    if len(damaged) == 1:
        raise last_error
    raise ChecksumMismatchError(f"every copy of backup {backup.id} is damaged: " + "; ".join(damaged))


def check_copy(backup: Backup, copy: StoredCopy) -> str | None:
    """Why `copy` is damaged, having read it whole; None when it is sound (or could not be read)."""
    try:
        for _ in open_copy(backup, copy):
            pass
    except ChecksumMismatchError as exc:
        return _damage(copy, exc)
    except Exception:
        _log.exception("could not read %s of backup %s to check it", copy, backup.id)
    return None


def _damage(copy: StoredCopy, error: ChecksumMismatchError) -> str:
    return f"{copy} failed its checksum check: {error}"


def missing_file_error(backup: Backup) -> NotFoundError:
    where = ", ".join(f"{loc.kind}:{loc.ref}" for loc in backup.locations) or "nowhere"
    return NotFoundError(f"the file of backup {backup.id} is missing from every location ({where})")


def report_damaged_copies(
    ctx: ServiceContext, actor: str, backup: Backup, damaged: Iterable[str], read_from: StorageKind
) -> None:
    """Audit the damaged copies of `backup` that a restore passed over for its `read_from` copy, and add them
    to its record's warnings, so that they can be replaced; never raises (the read goes on from that copy)."""
    notes = [f"{note}; its {read_from} copy was read instead" for note in damaged]
    if not notes:
        return
    for note in notes:
        _log.error("backup %s: %s", backup.id, note)
    ctx.auditor.record(
        actor,
        AuditAction.RESTORE,
        backup.id,
        {"outcome": "damaged copy", "damaged": notes, "read_from": str(read_from)},
        severity="WARNING",
    )
    try:
        add_warnings(ctx, backup.id, notes)
    except Exception:
        _log.exception("could not record the damaged copies of backup %s", backup.id)


def counted(chunks: Iterable[bytes], progress: ProgressCallback | None) -> Iterator[bytes]:
    """`chunks`, telling `progress` the bytes so far (read and stored alike: a stored file's bytes)."""
    done = 0
    for chunk in chunks:
        done += len(chunk)
        if progress is not None:
            progress(done, done)
        yield chunk
