"""`FirestoreCatalog`: the production catalog in Cloud Firestore; whatever can race runs in a transaction."""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from google.api_core.exceptions import AlreadyExists, GoogleAPICallError, RetryError
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
    settings_from_record,
    settings_to_record,
    utc,
)
from shared.clock import Clock, SystemClock
from shared.errors import InvalidInputError, NotFoundError, StorageError
from shared.models import Backup, BackupLog, BackupSettings

_TRANSACTION_ATTEMPTS = 20


def _reported[**P, R](method: Callable[P, R]) -> Callable[P, R]:
    """Turn Firestore's own failures (unreachable, denied, …) into one clear `StorageError`."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (GoogleAPICallError, RetryError) as exc:
            raise StorageError(
                f"the Firestore catalog failed: {exc}; check the project, the database and the "
                "service account's datastore.user role"
            ) from exc

    return call


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


@firestore.transactional
def _replace_if_present(
    transaction: firestore.Transaction, ref: firestore.DocumentReference, record: dict[str, Any]
) -> bool:
    if not ref.get(transaction=transaction).exists:
        return False
    transaction.set(ref, record)
    return True


@firestore.transactional
def _take_lock(
    transaction: firestore.Transaction, ref: firestore.DocumentReference,
    name: str, owner: str, now: datetime, ttl: timedelta,
) -> bool:
    snapshot = ref.get(transaction=transaction)
    current = None
    if snapshot.exists:
        stored = snapshot.to_dict() or {}
        current = leases.LockRecord(stored["owner"], as_utc(stored["expires_at"]))
    taken = leases.take_lock(current, name, owner, now, ttl)
    if taken is None:
        return False
    transaction.set(ref, {"name": name, "owner": taken.owner, "expires_at": taken.expires_at})
    return True


@firestore.transactional
def _free_lock(transaction: firestore.Transaction, ref: firestore.DocumentReference, owner: str) -> None:
    snapshot = ref.get(transaction=transaction)
    if snapshot.exists and (snapshot.to_dict() or {}).get("owner") == owner:
        transaction.delete(ref)


def _run_record(snapshot: firestore.DocumentSnapshot[Any]) -> leases.RunRecord | None:
    if not snapshot.exists:
        return None
    stored = snapshot.to_dict() or {}
    return leases.RunRecord(
        owner=stored["owner"], state=leases.RunState(stored["state"]),
        expires_at=as_utc(stored["expires_at"]), attempt=int(stored["attempt"]),
        backup_id=stored.get("backup_id"),
    )


def _run_document(key: str, record: leases.RunRecord) -> dict[str, Any]:
    return {
        "key": key, "owner": record.owner, "state": str(record.state), "expires_at": record.expires_at,
        "attempt": record.attempt, "backup_id": record.backup_id,
    }


@firestore.transactional
def _claim_run(
    transaction: firestore.Transaction, ref: firestore.DocumentReference,
    key: str, owner: str, now: datetime, ttl: timedelta,
) -> RunClaim:
    answer, record = leases.claim(_run_record(ref.get(transaction=transaction)), key, owner, now, ttl)
    if record is not None:
        transaction.set(ref, _run_document(key, record))
    return answer


@firestore.transactional
def _finish_run(
    transaction: firestore.Transaction, ref: firestore.DocumentReference,
    key: str, owner: str, backup_id: str | None, succeeded: bool,
) -> bool:
    record = leases.finish(_run_record(ref.get(transaction=transaction)), owner, backup_id, succeeded)
    if record is None:
        return False
    transaction.set(ref, _run_document(key, record))
    return True


class FirestoreCatalog:
    """Collections `backups`, `backup_logs`, `settings/current`, `locks` and `runs`, each name after
    `prefix` (so tenants or tests can share a database). Every query it makes is recorded in
    `issued_query_shapes`, so tests can check it against the declared composite indexes."""

    def __init__(self, client: firestore.Client, prefix: str = "", clock: Clock | None = None) -> None:
        if "/" in prefix:
            raise InvalidInputError(f"a Firestore collection prefix must not contain '/' (got {prefix!r})")
        self._client = client
        self._prefix = prefix
        self._clock = clock or SystemClock()
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
        return [snapshot.to_dict() or {} for snapshot in query.stream()]

    def _transaction(self) -> firestore.Transaction:
        return self._client.transaction(max_attempts=_TRANSACTION_ATTEMPTS)

    def _backup_ref(self, backup_id: str) -> firestore.DocumentReference | None:
        try:
            return self._backups.document(check_backup_id(backup_id))
        except InvalidInputError:
            return None

    # Backups

    @_reported
    def add_backup(self, backup: Backup) -> None:
        document = _backup_document(backup)
        try:
            self._backups.document(backup.id).create(document)
        except AlreadyExists as exc:
            raise InvalidInputError(f"a backup with id {backup.id!r} exists already") from exc

    @_reported
    def update_backup(self, backup: Backup) -> None:
        ref = self._backup_ref(backup.id)
        if ref is None or not _replace_if_present(self._transaction(), ref, _backup_document(backup)):
            raise NotFoundError(f"no backup with id {backup.id!r}")

    @_reported
    def get_backup(self, backup_id: str) -> Backup:
        ref = self._backup_ref(backup_id)
        snapshot = ref.get() if ref is not None else None
        if snapshot is None or not snapshot.exists:
            raise NotFoundError(f"no backup with id {backup_id!r}")
        return _backup_from_document(snapshot.to_dict() or {})

    @_reported
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

    @_reported
    def delete_backup(self, backup_id: str) -> None:
        ref = self._backup_ref(backup_id)
        if ref is not None:
            ref.delete()

    # Settings

    @_reported
    def get_settings(self) -> BackupSettings:
        snapshot = self._settings.get()
        if not snapshot.exists:
            return BackupSettings()
        return settings_from_record(snapshot.to_dict() or {})

    @_reported
    def save_settings(self, settings: BackupSettings) -> None:
        record = settings_to_record(settings)
        record["updated_at"] = utc(self._clock.now(), "the clock's time")
        self._settings.set(record)

    # Audit log

    def _next_logged_ns(self) -> int:
        """Wall-clock nanoseconds, strictly increasing within this process: the order of equal times."""
        with self._log_order_guard:
            self._last_logged_ns = max(time.time_ns(), self._last_logged_ns + 1)
            return self._last_logged_ns

    @_reported
    def add_log(self, entry: BackupLog) -> BackupLog:
        record = log_to_record(entry)
        record["id"] = record["id"] or uuid.uuid4().hex
        document = {**record, "details": json.dumps(record["details"]), "logged_ns": self._next_logged_ns()}
        try:
            self._logs.document(record["id"]).create(document)
        except AlreadyExists as exc:
            raise InvalidInputError(f"an audit entry with id {record['id']!r} exists already") from exc
        return log_from_record(record)

    @_reported
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

    @_reported
    def acquire_lock(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        taken: bool = _take_lock(self._transaction(), self._locks.document(_key_document_id(name)),
                                 name, owner, now, ttl)
        return taken

    @_reported
    def release_lock(self, name: str, owner: str) -> None:
        _free_lock(self._transaction(), self._locks.document(_key_document_id(name)), owner)

    @_reported
    def claim_run(self, key: str, owner: str, now: datetime, ttl: timedelta) -> RunClaim:
        answer: RunClaim = _claim_run(self._transaction(), self._runs.document(_key_document_id(key)),
                                      key, owner, now, ttl)
        return answer

    @_reported
    def finish_run(self, key: str, owner: str, backup_id: str | None, succeeded: bool) -> bool:
        finished: bool = _finish_run(self._transaction(), self._runs.document(_key_document_id(key)),
                                     key, owner, backup_id, succeeded)
        return finished
