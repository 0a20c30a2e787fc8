"""Builds the service's parts from the configuration: the embedded defaults, or the cloud ones."""

from __future__ import annotations

from shared.audit import Auditor
from shared.catalog.sqlite import SQLiteCatalog
from shared.clock import Clock, SystemClock
from shared.config import Config
from shared.models import StorageKind
from shared.services.context import ServiceContext, default_engine_factory
from shared.storage.base import Storage
from shared.storage.local import LocalStorage


def build_context(config: Config, clock: Clock | None = None) -> ServiceContext:
    clock = clock or SystemClock()
    catalog = SQLiteCatalog(config.catalog_path, clock)
    storages: dict[StorageKind, Storage] = {StorageKind.LOCAL: LocalStorage(config.local_backup_dir)}
    return ServiceContext(
        config=config,
        catalog=catalog,
        storages=storages,
        auditor=Auditor(catalog, clock),
        clock=clock,
        engine_factory=default_engine_factory(config),
    )
