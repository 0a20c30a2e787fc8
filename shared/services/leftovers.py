"""Removing the files of a backup that will never complete, wherever its run may have left them."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from shared.models import Backup, StorageKind
from shared.redaction import redact
from shared.services.context import ServiceContext
from shared.storage.base import Storage

_log = logging.getLogger("backup.leftovers")


def discard_files(
    ctx: ServiceContext, backup: Backup, written_to: Mapping[StorageKind, Storage]
) -> list[str]:
    """Delete every copy `backup` records, and whatever its uploads left (partial data, or a file committed
    but never recorded) in the storages it was `written_to`; clears `backup.locations`.

    Never raises, since the caller is already handling the failure that matters; says instead, one line
    per storage, what could not be removed."""
    problems: list[str] = []
    for location in backup.locations:
        storage = ctx.storages.get(location.kind)
        if storage is None:
            continue
        try:
            storage.delete(location.ref)
        except Exception as exc:
            problems.append(_problem(location.kind, backup.filename, exc))
    backup.locations = []
    for problem in problems:
        _log.error("backup %s: %s", backup.id, problem)
    return problems + discard_uploads(backup, written_to)


def discard_uploads(backup: Backup, written_to: Mapping[StorageKind, Storage]) -> list[str]:
    """Remove whatever the uploads of `backup` left in the storages it was `written_to` and that keep no
    copy of it: partial data, or a file the storage made but whose upload then failed. Never raises; says
    instead, one line per storage, what could not be removed."""
    problems: list[str] = []
    for kind, storage in written_to.items():
        try:
            storage.discard_leftovers(backup.filename)
        except Exception as exc:
            problems.append(_problem(kind, backup.filename, exc))
    for problem in problems:
        _log.error("backup %s: %s", backup.id, problem)
    return problems


def _problem(kind: object, filename: str, exc: Exception) -> str:
    reason = redact(str(exc).strip() or type(exc).__name__)
    return f"could not remove what was written of {filename} in storage {kind}: {reason}; delete it by hand"


def discard_failed_uploads(
    ctx: ServiceContext, backup: Backup, failed: Mapping[StorageKind, Storage]
) -> None:
    """Remove what the storages whose upload `failed` left of a completed backup (a file one made before its
    last answer was lost, which no record names), and record what could not be. Only once the backup is
    recorded as completed: this can take a storage's whole retry time, and a run stopped meanwhile must not
    lose the good copy. Never raises, since the backup has completed."""
    problems = discard_uploads(backup, failed)
    if not problems:
        return
    backup.warnings = [*backup.warnings, *problems]
    try:
        add_warnings(ctx, backup.id, problems)
    except Exception as exc:
        _log.error("backup %s: could not record %s: %s", backup.id, problems, redact(str(exc)))


def add_warnings(ctx: ServiceContext, backup_id: str, warnings: list[str]) -> None:
    """Add `warnings` to the stored record of `backup_id`, writing nothing else: others may have changed it
    (protected it, added warnings of their own) since the caller read it."""
    stored = ctx.catalog.get_backup(backup_id)
    stored.warnings = [*stored.warnings, *warnings]
    ctx.catalog.update_backup(stored, only=("warnings",))
