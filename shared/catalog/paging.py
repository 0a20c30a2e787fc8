"""Every record a filter matches, read page by page."""

from __future__ import annotations

from collections.abc import Iterator

from shared.catalog.base import BackupFilter, Catalog
from shared.errors import StorageError
from shared.models import Backup


def every_backup(catalog: Catalog, filter: BackupFilter, page_size: int = 500) -> Iterator[Backup]:
    """Newest first. Raises `StorageError` should the catalog hand out a page cursor twice (a loop)."""
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = catalog.list_backups(filter, limit=page_size, cursor=cursor)
        yield from page.backups
        cursor = page.next_cursor
        if cursor is None:
            return
        if cursor in seen:
            raise StorageError("the catalog returned a page cursor twice while listing; listing stopped")
        seen.add(cursor)
