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


class Lease:
    """The catalog lock `name`, held by `owner` from `take` to `release`. It expires after `ttl` unless
    refreshed, so one left by a crashed holder frees itself; a live holder's heartbeat thread refreshes it
    every third of `ttl`. `what` names what it locks and `rival` who else takes it, for messages."""

    def __init__(
        self, catalog: Catalog, clock: Clock, name: str, owner: str, ttl: timedelta, what: str, rival: str
    ) -> None:
        self._catalog = catalog
        self._clock = clock
        self._name = name
        self.owner = owner
        self.ttl = ttl
        self._what = what
        self._rival = rival
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self.lost: str | None = None
        """Why the lock is no longer held, once the heartbeat or `renew` found out."""

    def take(self) -> bool:
        """Take the lock and start the heartbeat; False (holding nothing) while another holds it."""
        if not self._catalog.acquire_lock(self._name, self.owner, self._clock.now(), self.ttl):
            return False
        self._heartbeat = threading.Thread(target=self._refresh, name="lock-heartbeat", daemon=True)
        self._heartbeat.start()
        return True

    def renew(self) -> bool:
        """Refresh the lock now; whether it is still held (once lost, it stays lost)."""
        if self.lost is None and not self._taken_again():
            self._lose(f"another {self._rival} has taken it")
        return self.lost is None

    def _taken_again(self) -> bool:
        return self._catalog.acquire_lock(self._name, self.owner, self._clock.now(), self.ttl)

    def _refresh(self) -> None:
        ttl = self.ttl.total_seconds()
        interval = ttl / 3
        refreshed = time.monotonic()
        while not self._stop.wait(interval):
            try:
                if not self._taken_again():
                    self._lose(f"another {self._rival} has taken it")
                    return
                refreshed = time.monotonic()
                if self._stop.is_set():  # the holder ended while this refresh was under way, and may have
                    self._release()  # released the lock already: the refresh must not leave it taken
                    return
            except Exception:
                _log.exception("could not refresh the lock on %s", self._what)
                if time.monotonic() - refreshed + interval >= ttl:  # it lapses before the next try
                    self._lose(f"it could not be refreshed for {time.monotonic() - refreshed:,.0f} s")
                    return

    def _lose(self, why: str) -> None:
        self.lost = why
        _log.error("lost the lock on %s: %s", self._what, why)

    def release(self) -> None:
        """Stop the heartbeat and release the lock."""
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
        self._release()

    def _release(self) -> None:
        """Release the lock; a failure only leaves it to expire after its TTL, so it is logged, and never
        replaces the outcome of the holder's work."""
        try:
            self._catalog.release_lock(self._name, self.owner)
        except Exception:
            _log.exception(
                "could not release the lock on %s; it expires after %d s",
                self._what,
                int(self.ttl.total_seconds()),
            )


class DatabaseLock:
    """Context manager: raises `BusyError` when another run holds the database. The lock is a `Lease`, so
    one left by a crashed run frees itself after `ttl`, and a live run keeps it."""

    def __init__(
        self, catalog: Catalog, clock: Clock, url: DatabaseURL, ttl: timedelta, purpose: str
    ) -> None:
        self._database = url.database
        owner = f"{purpose}-{uuid.uuid4().hex[:12]}"
        self._lease = Lease(catalog, clock, lock_name(url), owner, ttl, f"database {url.database!r}", "run")
        self.owner = owner

    def __enter__(self) -> DatabaseLock:
        if not self._lease.take():
            raise BusyError(
                f"another backup or restore of database {self._database!r} is running; "
                f"try again when it has finished (a lock left by a crashed run expires after "
                f"{int(self._lease.ttl.total_seconds())} s)"
            )
        return self

    def check(self) -> None:
        """Raise `LockLostError` once the lock has lapsed or passed to another run."""
        if self._lease.lost is not None:
            raise LockLostError(
                f"the lock on database {self._database!r} was lost ({self._lease.lost}), so this run stopped "
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
        self._lease.release()
