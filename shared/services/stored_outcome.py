"""What the catalog holds for a backup after a write of its record failed: a write that timed out may have
been applied, so whether its files may go depends on what was stored, not on what the writer saw."""

from __future__ import annotations

import logging
from enum import Enum

from shared.catalog.base import Catalog
from shared.errors import NotFoundError
from shared.models import Backup, BackupStatus

_log = logging.getLogger(__name__)

UNFINISHED = (BackupStatus.PENDING, BackupStatus.RUNNING)


class Stored(Enum):
    COMPLETED = "completed"
    """The record says completed, with this checksum: its files are the backup."""
    NOT_COMPLETED = "not completed"
    """Missing, or in another state: no record names the files as a backup."""
    UNKNOWN = "unknown"
    """The record could not be read: its files must stay."""


def stored_outcome(catalog: Catalog, backup: Backup) -> Stored:
    try:
        stored = catalog.get_backup(backup.id)
    except NotFoundError:
        return Stored.NOT_COMPLETED
    except Exception:
        _log.exception("could not read back the record of backup %s; its files are kept", backup.id)
        return Stored.UNKNOWN
    completed = stored.status is BackupStatus.COMPLETED and stored.sha256 == backup.sha256
    return Stored.COMPLETED if completed else Stored.NOT_COMPLETED
