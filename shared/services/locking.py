"""One backup or restore at a time per database: a catalog lock, kept fresh by a heartbeat thread."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from types import TracebackType

from shared.catalog.base import Catalog
from shared.clock import Clock
from shared.dburl import DatabaseURL
from shared.errors import BusyError, LockLostError

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
        self._lost: str | None = None

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
        ttl = self._ttl.total_seconds()
        interval = ttl / 3
        refreshed = time.monotonic()
        while not self._stop.wait(interval):
            try:
                if not self._catalog.acquire_lock(self._name, self.owner, self._clock.now(), self._ttl):
                    self._lose("another run has taken it")
                    return
                refreshed = time.monotonic()
                if self._stop.is_set():  # the run ended while this refresh was under way, and may have
                    self._release()  # released the lock already: the refresh must not leave it taken
                    return
            except Exception:
                _log.exception("could not refresh the lock on database %r", self._database)
                if time.monotonic() - refreshed + interval >= ttl:  # it lapses before the next try
                    self._lose(f"it could not be refreshed for {time.monotonic() - refreshed:,.0f} s")
                    return

    def _lose(self, why: str) -> None:
        self._lost = why
        _log.error("lost the lock on database %r: %s", self._database, why)

    def check(self) -> None:
        """Raise `LockLostError` once the lock has lapsed or passed to another run."""
        if self._lost is not None:
            raise LockLostError(
                f"the lock on database {self._database!r} was lost ({self._lost}), so this run stopped "
                "rather than work on the database beside another run"
            )

    def guard(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield `chunks`, checking before each that the lock is still held."""
        source = iter(chunks)
        try:
            for chunk in source:
                self.check()
                yield chunk
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        self._release()

    def _release(self) -> None:
        """Release the lock; a failure only leaves it to expire after its TTL, so it is logged, and never
        replaces the outcome of the run."""
        try:
            self._catalog.release_lock(self._name, self.owner)
        except Exception:
            _log.exception(
                "could not release the lock on database %r; it expires after %d s",
                self._database,
                int(self._ttl.total_seconds()),
            )
