"""A catalog whose writes of chosen backups time out: the real SQLite catalog, answering as Firestore does
when a write's answer is lost (applied or not)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import FixedClock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.errors import CatalogUnavailableError
from shared.models import Backup, BackupStatus
from shared.services.context import ServiceContext
from shared.wiring import build_context

UNANSWERED = CatalogUnavailableError("the catalog (Firestore) did not answer within 10 s")


class UnansweredWrites(SQLiteCatalog):
    """The real SQLite catalog, whose writes of the backups `lost` picks are answered as a timeout: applied
    first when `applied`, else not at all."""

    lost: Callable[[Backup], bool] = staticmethod(lambda backup: False)
    lost_updates_of: tuple[str, ...] | None = None
    """Also lose every update that writes exactly these attributes (`only`)."""
    applied = True

    def add_backup(self, backup: Backup) -> None:
        self._write(self.lost(backup), lambda: super(UnansweredWrites, self).add_backup(backup))

    def update_backup(
        self, backup: Backup, *, only: Collection[str] = (), if_status: Collection[BackupStatus] = ()
    ) -> None:
        lost = self.lost(backup) or (self.lost_updates_of is not None and tuple(only) == self.lost_updates_of)
        self._write(
            lost,
            lambda: super(UnansweredWrites, self).update_backup(backup, only=only, if_status=if_status),
        )

    def _write(self, lost: bool, write: Callable[[], None]) -> None:
        if self.applied or not lost:
            write()
        if lost:
            raise UNANSWERED


def flaky_context(
    home: Path, url: DatabaseURL | None, clock: FixedClock
) -> tuple[ServiceContext, UnansweredWrites]:
    """A context whose catalog is `UnansweredWrites` over the same file (the auditor writes there too)."""
    context = build_context(Config(database_url=url, home=home), clock)
    catalog = UnansweredWrites(context.config.catalog_path, clock)
    context.catalog = catalog
    return context, catalog
