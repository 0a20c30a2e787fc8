"""A small world for cleanup tests: the real SQLite catalog, real local folders (one standing in for Drive),
backups with real files, and ways to change things while cleanup or a user's delete runs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.audit import Auditor
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import Clock, FixedClock
from shared.errors import NotFoundError, StorageError
from shared.models import (
    Backup,
    BackupSettings,
    BackupSource,
    BackupStatus,
    DatabaseInfo,
    StorageKind,
    StorageLocation,
)
from shared.services.cleanup import CleanupService
from shared.services.context import ServiceContext
from shared.storage.base import Storage
from shared.storage.local import LocalStorage
from tests.retention.sample_backups import sample_backup

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


class DriveThatRefusesSomeDeletes(LocalStorage):
    """Our own `Storage` protocol standing in for Drive: files in a folder, and `delete` fails with a
    `StorageError` (like a Drive 403) for the refs in `refused`."""

    kind = StorageKind.DRIVE

    def __init__(self, root: Path, refused: set[str]) -> None:
        super().__init__(root)
        self.refused = refused

    def delete(self, ref: str) -> None:
        if ref in self.refused:
            raise StorageError(f"Drive answered 403 insufficientFilePermissions deleting {ref}")
        super().delete(ref)


@dataclass
class World:
    catalog: SQLiteCatalog
    storages: dict[StorageKind, Storage]
    clock: FixedClock

    def service(self, storages: Mapping[StorageKind, Storage] | None = None) -> CleanupService:
        return CleanupService(
            self.catalog,
            self.storages if storages is None else storages,
            Auditor(self.catalog, self.clock),
            self.clock,
        )

    def add(
        self,
        backup_id: str,
        age: timedelta,
        status: BackupStatus = BackupStatus.COMPLETED,
        *,
        kinds: tuple[StorageKind, ...] = (StorageKind.LOCAL,),
        is_protected: bool = False,
        database: DatabaseInfo | None = None,
    ) -> Backup:
        """A catalog record with a real file in each storage of `kinds`."""
        locations = [StorageLocation(kind, self.store(kind, f"{backup_id}.sql.gz")) for kind in kinds]
        backup = sample_backup(
            backup_id, self.clock.now() - age, status, is_protected=is_protected, locations=locations
        )
        backup.database = database or backup.database
        self.catalog.add_backup(backup)
        return backup

    def store(self, kind: StorageKind, filename: str) -> str:
        content = f"-- dump {filename}\n".encode()
        upload = self.storages[kind].begin(filename)
        upload.write(content)
        return upload.commit(hashlib.sha256(content).hexdigest(), len(content))

    def file_exists(self, location: StorageLocation) -> bool:
        return self.storages[location.kind].exists(location.ref)

    def record_exists(self, backup_id: str) -> bool:
        try:
            self.catalog.get_backup(backup_id)
        except NotFoundError:
            return False
        return True


def save_policy(catalog: SQLiteCatalog, daily: int, weekly: int = 0, monthly: int = 0) -> None:
    catalog.save_settings(
        BackupSettings(retention_daily=daily, retention_weekly=weekly, retention_monthly=monthly)
    )


def make_world(folder: Path, daily: int = 2, weekly: int = 0, monthly: int = 0) -> World:
    clock = FixedClock(NOW)
    catalog = SQLiteCatalog(folder / "catalog.db", clock)
    save_policy(catalog, daily, weekly, monthly)
    storages: dict[StorageKind, Storage] = {
        StorageKind.LOCAL: LocalStorage(folder / "local"),
        StorageKind.DRIVE: DriveThatRefusesSomeDeletes(folder / "drive", refused=set()),
    }
    return World(catalog, storages, clock)


CatalogChange = Callable[[SQLiteCatalog], None]


class ChangingOnRead(SQLiteCatalog):
    """A catalog where `changes[id]` happens the first time that backup is read: for the backup cleanup
    is about to delete, between the plan and its deletion."""

    def __init__(self, path: Path, clock: Clock, changes: dict[str, CatalogChange]) -> None:
        super().__init__(path, clock)
        self.changes = changes

    def get_backup(self, backup_id: str) -> Backup:
        change = self.changes.pop(backup_id, None)
        if change is not None:
            change(self)
        return super().get_backup(backup_id)


def change_on_read(world: World, folder: Path, changes: dict[str, CatalogChange]) -> None:
    """From now on, `world`'s catalog (the same file) makes `changes` as the backups are read."""
    world.catalog = ChangingOnRead(folder / "catalog.db", world.clock, changes)


def protect(backup_id: str) -> CatalogChange:
    def change(catalog: SQLiteCatalog) -> None:
        backup = SQLiteCatalog.get_backup(catalog, backup_id)
        backup.is_protected = True
        catalog.update_backup(backup)

    return change


def start_restore(pre_id: str, restored_id: str) -> CatalogChange:
    """What a restore of `restored_id` does once its pre-restore backup `pre_id` is complete."""

    def change(catalog: SQLiteCatalog) -> None:
        pre = SQLiteCatalog.get_backup(catalog, pre_id)
        pre.source, pre.restoring = BackupSource.PRE_RESTORE, restored_id
        catalog.update_backup(pre)

    return change


def world_over(context: ServiceContext, daily: int) -> World:
    """A world on a service context's own catalog and storages, for tests that use its services too."""
    assert isinstance(context.catalog, SQLiteCatalog) and isinstance(context.clock, FixedClock)
    save_policy(context.catalog, daily)
    return World(context.catalog, context.storages, context.clock)


class LocalStorageWithADeleteHook(LocalStorage):
    """Local storage that calls `before_delete(ref)` as each delete starts: what another request does
    while a slow delete (a Drive call) is under way."""

    def __init__(self, root: Path, before_delete: Callable[[str], None]) -> None:
        super().__init__(root)
        self.before_delete = before_delete

    def delete(self, ref: str) -> None:
        self.before_delete(ref)
        super().delete(ref)


def hook_local_deletes(context: ServiceContext, before_delete: Callable[[str], None]) -> None:
    hooked = LocalStorageWithADeleteHook(context.config.local_backup_dir, before_delete)
    context.storages[StorageKind.LOCAL] = hooked
