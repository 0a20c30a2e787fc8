"""One backup or restore at a time per database: a catalog lock, kept fresh by a heartbeat thread."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from datetime import timedelta
from types import TracebackType

from shared.catalog.base import Catalog
from shared.clock import Clock
from shared.dburl import DatabaseURL
from shared.errors import BusyError

_log = logging.getLogger("backup.lock")


def lock_name(url: DatabaseURL) -> str:
    """A stable lock name per database (the same server and database always map to the same lock)."""
    where = url.unix_socket or f"{url.host}:{url.port}"
    key = f"{url.engine}|{where}|{url.database}"
    return "db-" + hashlib.sha256(key.encode()).hexdigest()[:32]


class DatabaseLock:
    """Context manager: raises `BusyError` when another run holds the database. The lock expires after
    `ttl` unless refreshed, so one left by a crashed run frees itself; a live run refreshes it every
    third of `ttl`."""

    def __init__(
        self, catalog: Catalog, clock: Clock, url: DatabaseURL, ttl: timedelta, purpose: str
    ) -> None:
        self._catalog = catalog
        self._clock = clock
        self._name = lock_name(url)
        self._ttl = ttl
        self._database = url.database
        self.owner = f"{purpose}-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def __enter__(self) -> DatabaseLock:
        if not self._catalog.acquire_lock(self._name, self.owner, self._clock.now(), self._ttl):
            raise BusyError(
                f"another backup or restore of database {self._database!r} is running; "
                f"try again when it has finished (a lock left by a crashed run expires after "
                f"{int(self._ttl.total_seconds())} s)"
            )
        self._heartbeat = threading.Thread(target=self._refresh, name="lock-heartbeat", daemon=True)
        self._heartbeat.start()
        return self

    def _refresh(self) -> None:
        interval = self._ttl.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                if not self._catalog.acquire_lock(self._name, self.owner, self._clock.now(), self._ttl):
                    _log.error("lost the lock on database %r to another run", self._database)
            except Exception:
                _log.exception("could not refresh the lock on database %r", self._database)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        self._catalog.release_lock(self._name, self.owner)
