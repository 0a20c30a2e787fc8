"""Names for new backups: a short random id and a file name that says what and when."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from shared.compression import FILE_SUFFIXES
from shared.models import Compression

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def new_backup_id() -> str:
    return secrets.token_hex(8)


def backup_filename(database: str, created_at: datetime, backup_id: str, compression: Compression) -> str:
    """e.g. `shop-20261125-173000-1a2b3c4d5e6f7a8b.sql.gz` — safe on every storage."""
    safe = _UNSAFE.sub("_", database).strip("._") or "database"
    return f"{safe[:60]}-{created_at:%Y%m%d-%H%M%S}-{backup_id}{FILE_SUFFIXES[compression]}"
