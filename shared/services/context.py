"""Everything a service needs, wired once: catalog, storages, engines, audit, notifications, clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from shared.audit import Auditor
from shared.catalog.base import Catalog
from shared.clock import Clock
from shared.config import Config
from shared.dburl import DatabaseURL
from shared.engines.base import DumpEngine, DumpOptions, engine_for
from shared.errors import ConfigurationError
from shared.models import StorageKind
from shared.notify.base import Notifier
from shared.notify.log import LogNotifier
from shared.notify.safe import SafeNotifier
from shared.secrets import Secrets
from shared.storage.base import Storage
from shared.time_limit import Ticks, TimeLimit

EngineFactory = Callable[[DatabaseURL], DumpEngine]


@dataclass
class ServiceContext:
    config: Config
    catalog: Catalog
    storages: dict[StorageKind, Storage]
    """Every configured storage: backups are read from and deleted in any of them."""
    auditor: Auditor
    clock: Clock
    engine_factory: EngineFactory
    notifier: Notifier = field(default_factory=lambda: SafeNotifier(LogNotifier()))
    """Always a `SafeNotifier`: sending never raises."""
    secrets: Secrets | None = None
    targets: tuple[StorageKind, ...] | None = None
    """Where new backups are written; None means every storage in `storages`."""
    ticks: Ticks = time.monotonic
    """The clock of time limits (a test moves its own)."""

    @property
    def write_targets(self) -> dict[StorageKind, Storage]:
        kinds = self.targets if self.targets is not None else tuple(self.storages)
        return {kind: self.storages[kind] for kind in kinds}

    @property
    def lock_ttl(self) -> timedelta:
        return timedelta(seconds=self.config.lock_ttl_seconds)

    def start_time_limit(self) -> TimeLimit:
        """The time limit of an operation starting now (`Config.time_limit_seconds`)."""
        return TimeLimit(self.config.time_limit_seconds, self.ticks)

    def storage(self, kind: StorageKind) -> Storage:
        try:
            return self.storages[kind]
        except KeyError:
            raise ConfigurationError(f"storage {kind!r} holds this backup but is not configured") from None


def default_engine_factory(config: Config) -> EngineFactory:
    options = DumpOptions(
        strip_definers=config.strip_definers,
        mysql_readers=config.mysql_readers,
        postgres_restore_connections=config.postgres_restore_connections,
        restore_lock_wait_seconds=config.restore_lock_wait_seconds,
    )

    def build(url: DatabaseURL) -> DumpEngine:
        return engine_for(url, options, pg_bin_dir=config.pg_bin_dir)

    return build
