"""`FirestoreCatalog`: the production catalog in Cloud Firestore. Every call has a deadline, and whatever can
race is a conditional write: a create, or an update or delete of the document only as it was read."""

from __future__ import annotations

import functools
import inspect
import json
import threading
import time
import uuid
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, Concatenate, TypedDict
from urllib.parse import quote

from google.api_core.exceptions import (
    Aborted,
    AlreadyExists,
    DeadlineExceeded,
    FailedPrecondition,
    GoogleAPICallError,
    InternalServerError,
    NotFound,
    ResourceExhausted,
    RetryError,
    ServiceUnavailable,
)
from google.api_core.retry import Retry, if_exception_type
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.query import Query

from shared.catalog import leases
from shared.catalog.base import BackupFilter, BackupPage, RunClaim
from shared.catalog.cursor import decode_cursor, encode_cursor
from shared.catalog.firestore_indexes import QueryShape, query_shape
from shared.catalog.limits import check_limit
from shared.catalog.records import (
    as_utc,
    backup_from_record,
    backup_to_record,
    check_backup_id,
    log_from_record,
    log_to_record,
    require_status,
    settings_from_record,
    settings_to_record,
    utc,
    written_part,
)
from shared.clock import Clock, SystemClock
from shared.errors import CatalogUnavailableError, InvalidInputError, NotFoundError, StorageError
from shared.models import Backup, BackupLog, BackupSettings, BackupStatus

DEFAULT_DEADLINE_SECONDS = 30.0
RETRY_AFTER_SECONDS = 30
"""What a caller is told to wait (HTTP Retry-After) before trying again when Firestore did not answer."""
_CONFLICT_ATTEMPTS = 20
_READS_RETRIED = (DeadlineExceeded, InternalServerError, ServiceUnavailable)
"""What the client retries by default on BatchGetDocuments and RunQuery, the RPCs of every read here."""
_WRITES_RETRIED = (Aborted, ResourceExhausted, ServiceUnavailable)
"""What it retries by default on Commit, the RPC of every write, and Aborted (contention: not applied),
which the transactions these writes replaced retried: not DeadlineExceeded, as that commit may have been
applied."""

DELETE_AFTER_FIELD = "delete_after"
TTL_COLLECTIONS = ("locks", "runs")
"""The collections (before any prefix) whose documents carry `DELETE_AFTER_FIELD`, each write of one setting
it; infra/firestore.tf puts a TTL policy on that field in each, and tests/infra fails when the two differ."""

type _Snapshot = firestore.DocumentSnapshot[Any]


class _Changed(Exception):
    """Another writer changed the document between this catalog's read and its write."""


class _CallOptions(TypedDict):
    retry: Retry
    timeout: float


def _call_options(deadline_seconds: float, retried: tuple[type[Exception], ...]) -> _CallOptions:
    """The client's own backoff, ended at the deadline. The client counts `timeout` from the first attempt
    and gives each retry what is left of it (all of it again to one that starts under 1 s before the end),
    so a call, its retries included, ends at the deadline or, at worst, one attempt after it."""
    retry = Retry(
        predicate=if_exception_type(*retried),
        initial=0.1,
        maximum=60.0,
        multiplier=1.3,
        timeout=deadline_seconds,
    )
    return {"retry": retry, "timeout": deadline_seconds}


def _reported[**P, R](
    doing: str,
) -> Callable[[Callable[Concatenate[FirestoreCatalog, P], R]], Callable[Concatenate[FirestoreCatalog, P], R]]:
    """Turn Firestore's own failures (no answer in time, unreachable, denied, …) into one clear `StorageError`
    that says what the catalog was doing: `doing` is formatted with the call's arguments."""

    def decorate(
        method: Callable[Concatenate[FirestoreCatalog, P], R],
    ) -> Callable[Concatenate[FirestoreCatalog, P], R]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def call(catalog: FirestoreCatalog, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(catalog, *args, **kwargs)
            except (GoogleAPICallError, RetryError) as exc:
                what = doing.format_map(signature.bind(catalog, *args, **kwargs).arguments)
                raise _failure(what, catalog.deadline_seconds, exc) from exc

        return call

    return decorate


def _failure(doing: str, deadline_seconds: float, exc: GoogleAPICallError | RetryError) -> StorageError:
    if isinstance(exc, RetryError | DeadlineExceeded):
        last = exc.cause if isinstance(exc, RetryError) else None
        said = "" if last is None or isinstance(last, DeadlineExceeded) else f" (last failure: {last})"
        return CatalogUnavailableError(
            f"the catalog (Firestore) did not answer within {deadline_seconds:g} s while {doing}{said}; "
            "check that Firestore can be reached from here, or raise BACKUP_CATALOG_TIMEOUT_SECONDS",
            retry_after_seconds=RETRY_AFTER_SECONDS,
        )
    return StorageError(
        f"the Firestore catalog failed while {doing}: {exc}; check the project, the database and the "
        "service account's datastore.user role"
    )


def _backup_document(backup: Backup) -> dict[str, Any]:
    """Rows per table as a list of pairs: a map could not hold table names such as `__x__`."""
    record = backup_to_record(backup)
    record["table_rows"] = [{"table": table, "rows": rows} for table, rows in record["table_rows"].items()]
    return record


def _backup_from_document(document: dict[str, Any]) -> Backup:
    pairs = document.get("table_rows") or []
    return backup_from_record({**document, "table_rows": {pair["table"]: pair["rows"] for pair in pairs}})


def _key_document_id(key: str) -> str:
    """Any lock name or run key as a valid document id (no '/', never '.', '..' or '__x__')."""
    return "k-" + quote(key, safe="")


def _lock_record(snapshot: _Snapshot) -> leases.LockRecord | None:
    if not snapshot.exists:
        return None
    stored = snapshot.to_dict() or {}
    return leases.LockRecord(stored["owner"], as_utc(stored["expires_at"]))


def _run_record(snapshot: _Snapshot) -> leases.RunRecord | None:
    if not snapshot.exists:
        return None
    stored = snapshot.to_dict() or {}
    return leases.RunRecord(
        owner=stored["owner"], state=leases.RunState(stored["state"]),
        expires_at=as_utc(stored["expires_at"]), attempt=int(stored["attempt"]),
        backup_id=stored.get("backup_id"),
    )


def _lock_document(name: str, record: leases.LockRecord, written_at: datetime) -> dict[str, Any]:
    return {
        "name": name, "owner": record.owner, "expires_at": record.expires_at,
        DELETE_AFTER_FIELD: leases.delete_after(written_at, record.expires_at),
    }


def _run_document(key: str, record: leases.RunRecord, written_at: datetime) -> dict[str, Any]:
    return {
        "key": key, "owner": record.owner, "state": str(record.state), "expires_at": record.expires_at,
        "attempt": record.attempt, "backup_id": record.backup_id,
        DELETE_AFTER_FIELD: leases.delete_after(written_at, record.expires_at),
    }


class FirestoreCatalog:
    """Collections `backups`, `backup_logs`, `settings/current`, `locks` and `runs`, each name after
    `prefix` (so tenants or tests can share a database). Each call to Firestore fails after
    `deadline_seconds`, its retries included. Every query it makes is recorded in `issued_query_shapes`,
    so tests can check it against the declared composite indexes. Every write of a lock or run document
    sets its `delete_after` (`leases.delete_after`, from this catalog's clock), on which a TTL policy
    (infra/firestore.tf) has Firestore delete it once nothing can consult it."""

    def __init__(
        self,
        client: firestore.Client,
        prefix: str = "",
        clock: Clock | None = None,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        if "/" in prefix:
            raise InvalidInputError(f"a Firestore collection prefix must not contain '/' (got {prefix!r})")
        self._client = client
        self._prefix = prefix
        self._clock = clock or SystemClock()
        self.deadline_seconds = deadline_seconds
        self._read = _call_options(deadline_seconds, _READS_RETRIED)
        self._write = _call_options(deadline_seconds, _WRITES_RETRIED)
        self._backups = client.collection(f"{prefix}backups")
        self._logs = client.collection(f"{prefix}backup_logs")
        self._settings = client.collection(f"{prefix}settings").document("current")
        self._locks = client.collection(f"{prefix}locks")
        self._runs = client.collection(f"{prefix}runs")
        self._log_order_guard = threading.Lock()
        self._last_logged_ns = 0
        self.issued_query_shapes: set[QueryShape] = set()

    def _stream(self, query: Query) -> list[dict[str, Any]]:
        self.issued_query_shapes.add(query_shape(query, self._prefix))
        return [snapshot.to_dict() or {} for snapshot in query.stream(**self._read)]

    def _backup_ref(self, backup_id: str) -> firestore.DocumentReference | None:
        try:
            return self._backups.document(check_backup_id(backup_id))
        except InvalidInputError:
            return None

    def _unchanged(self, snapshot: _Snapshot) -> Any:
        """The precondition that the document is still as `snapshot` read it."""
        return self._client.write_option(last_update_time=snapshot.update_time)

    def _write_if_unchanged(self, snapshot: _Snapshot, record: dict[str, Any]) -> None:
        """Store `record` where `snapshot` was read: created if it was missing, else each of its fields
        replaced (a kind's documents all have the same fields). `_Changed` if another writer came first."""
        try:
            if snapshot.exists:
                snapshot.reference.update(record, option=self._unchanged(snapshot), **self._write)
            else:
                snapshot.reference.create(record, **self._write)
        except (AlreadyExists, FailedPrecondition) as exc:
            raise _Changed() from exc

    def _delete_if_unchanged(self, snapshot: _Snapshot) -> None:
        try:
            snapshot.reference.delete(option=self._unchanged(snapshot), **self._write)
        except FailedPrecondition as exc:
            raise _Changed() from exc

    def _settled[T](self, ref: firestore.DocumentReference, change: Callable[[_Snapshot], T]) -> T:
        """`change(snapshot of ref)`, read and written again whenever another writer got in between."""
        for _ in range(_CONFLICT_ATTEMPTS):
            try:
                return change(ref.get(**self._read))
            except _Changed:
                continue
        raise StorageError(
            f"the Firestore document {ref.path} changed under each of {_CONFLICT_ATTEMPTS} attempts to "
            "change it; try again"
        )

    # Backups

    @_reported("adding backup {backup.id!r}")
    def add_backup(self, backup: Backup) -> None:
        document = _backup_document(backup)
        try:
            self._backups.document(backup.id).create(document, **self._write)
        except AlreadyExists as exc:
            raise InvalidInputError(f"a backup with id {backup.id!r} exists already") from exc

    @_reported("updating backup {backup.id!r}")
    def update_backup(
        self,
        backup: Backup,
        *,
        only: Collection[str] = (),
        if_status: Collection[BackupStatus] = (),
    ) -> None:
        written = written_part(_backup_document(backup), only)
        ref = self._backup_ref(backup.id)
        if ref is None:
            raise NotFoundError(f"no backup with id {backup.id!r}")

        def change(snapshot: _Snapshot) -> None:
            # Read first: NotFound from the update alone could also mean that the database does not exist.
            if not snapshot.exists:
                raise NotFoundError(f"no backup with id {backup.id!r}")
            if not if_status:
                snapshot.reference.update(written, **self._write)
                return
            require_status(backup.id, str((snapshot.to_dict() or {}).get("status")), if_status)
            self._write_if_unchanged(snapshot, written)

        try:
            self._settled(ref, change)
        except NotFound as exc:
            raise NotFoundError(f"no backup with id {backup.id!r}") from exc

    @_reported("reading backup {backup_id!r}")
    def get_backup(self, backup_id: str) -> Backup:
        ref = self._backup_ref(backup_id)
        snapshot = ref.get(**self._read) if ref is not None else None
        if snapshot is None or not snapshot.exists:
            raise NotFoundError(f"no backup with id {backup_id!r}")
        return _backup_from_document(snapshot.to_dict() or {})

    @_reported("listing backups")
    def list_backups(
        self, filter: BackupFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> BackupPage:
        check_limit(limit)
        chosen = filter or BackupFilter()
        query = self._backups.order_by("created_at", direction="DESCENDING").order_by(
            "id", direction="DESCENDING"
        )
        if chosen.status is not None:
            query = query.where(filter=FieldFilter("status", "==", str(chosen.status)))
        if chosen.source is not None:
            query = query.where(filter=FieldFilter("source", "==", str(chosen.source)))
        if chosen.is_protected is not None:
            query = query.where(filter=FieldFilter("is_protected", "==", chosen.is_protected))
        if chosen.run_lock is not None:
            query = query.where(filter=FieldFilter("run_lock", "==", chosen.run_lock))
        if cursor is not None:
            after_created_at, after_id = decode_cursor(cursor)
            query = query.start_after({"created_at": after_created_at, "id": after_id})
        records = self._stream(query.limit(limit + 1))
        backups = [_backup_from_document(record) for record in records[:limit]]
        next_cursor = None
        if len(records) > limit:
            next_cursor = encode_cursor(backups[-1].created_at, backups[-1].id)
        return BackupPage(backups=backups, next_cursor=next_cursor)

    @_reported("deleting backup {backup_id!r}")
    def delete_backup(self, backup_id: str) -> None:
        ref = self._backup_ref(backup_id)
        if ref is not None:
            ref.delete(**self._write)

    # Settings

    @_reported("reading the settings")
    def get_settings(self) -> BackupSettings:
        snapshot = self._settings.get(**self._read)
        if not snapshot.exists:
            return BackupSettings()
        return settings_from_record(snapshot.to_dict() or {})

    @_reported("saving the settings")
    def save_settings(self, settings: BackupSettings) -> None:
        record = settings_to_record(settings)
        record["updated_at"] = utc(self._clock.now(), "the clock's time")
        self._settings.set(record, **self._write)

    # Audit log

    def _next_logged_ns(self) -> int:
        """Wall-clock nanoseconds, strictly increasing within this process: the order of equal times."""
        with self._log_order_guard:
            self._last_logged_ns = max(time.time_ns(), self._last_logged_ns + 1)
            return self._last_logged_ns

    @_reported("adding an audit entry")
    def add_log(self, entry: BackupLog) -> BackupLog:
        record = log_to_record(entry)
        record["id"] = record["id"] or uuid.uuid4().hex
        document = {**record, "details": json.dumps(record["details"]), "logged_ns": self._next_logged_ns()}
        try:
            self._logs.document(record["id"]).create(document, **self._write)
        except AlreadyExists as exc:
            raise InvalidInputError(f"an audit entry with id {record['id']!r} exists already") from exc
        return log_from_record(record)

    @_reported("listing the audit log")
    def list_logs(self, backup_id: str | None = None, limit: int = 100) -> list[BackupLog]:
        check_limit(limit)
        query = self._logs.order_by("created_at", direction="DESCENDING").order_by(
            "logged_ns", direction="DESCENDING"
        )
        if backup_id is not None:
            query = query.where(filter=FieldFilter("backup_id", "==", backup_id))
        return [
            log_from_record({**record, "details": json.loads(record["details"])})
            for record in self._stream(query.limit(limit))
        ]

    # Locks and run claims

    @_reported("taking lock {name!r}")
    def acquire_lock(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        def take(snapshot: _Snapshot) -> bool:
            taken = leases.take_lock(_lock_record(snapshot), name, owner, now, ttl)
            if taken is None:
                return False
            self._write_if_unchanged(snapshot, _lock_document(name, taken, self._clock.now()))
            return True

        return self._settled(self._locks.document(_key_document_id(name)), take)

    @_reported("releasing lock {name!r}")
    def release_lock(self, name: str, owner: str) -> None:
        def free(snapshot: _Snapshot) -> None:
            current = _lock_record(snapshot)
            if current is not None and current.owner == owner:
                self._delete_if_unchanged(snapshot)

        self._settled(self._locks.document(_key_document_id(name)), free)

    @_reported("claiming run {key!r}")
    def claim_run(self, key: str, owner: str, now: datetime, ttl: timedelta) -> RunClaim:
        def claim(snapshot: _Snapshot) -> RunClaim:
            answer, record = leases.claim(_run_record(snapshot), key, owner, now, ttl)
            if record is not None:
                self._write_if_unchanged(snapshot, _run_document(key, record, self._clock.now()))
            return answer

        return self._settled(self._runs.document(_key_document_id(key)), claim)

    @_reported("finishing run {key!r}")
    def finish_run(self, key: str, owner: str, backup_id: str | None, succeeded: bool) -> bool:
        def finish(snapshot: _Snapshot) -> bool:
            record = leases.finish(_run_record(snapshot), owner, backup_id, succeeded)
            if record is None:
                return False
            self._write_if_unchanged(snapshot, _run_document(key, record, self._clock.now()))
            return True

        return self._settled(self._runs.document(_key_document_id(key)), finish)
