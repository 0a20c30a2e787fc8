"""`SQLiteCatalog`: the embedded catalog in one file, safe for several threads and processes."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.catalog import leases
from shared.catalog.base import BackupFilter, BackupPage, RunClaim
from shared.catalog.cursor import decode_cursor, encode_cursor
from shared.catalog.limits import check_limit
from shared.catalog.records import (
    as_utc,
    backup_from_record,
    backup_to_record,
    check_writable,
    log_from_record,
    log_to_record,
    require_status,
    settings_from_record,
    settings_to_record,
)
from shared.clock import Clock, SystemClock
from shared.errors import InvalidInputError, NotFoundError, StorageError
from shared.models import Backup, BackupLog, BackupSettings, BackupStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS backups (
    id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    database_engine TEXT NOT NULL,
    database_name TEXT NOT NULL,
    database_host TEXT NOT NULL,
    database_server_version TEXT NOT NULL,
    source TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    compression TEXT NOT NULL,
    file_size INTEGER,
    sha256 TEXT,
    raw_size INTEGER,
    is_protected INTEGER NOT NULL,
    completed_at TEXT,
    error_message TEXT,
    locations TEXT NOT NULL,
    table_rows TEXT NOT NULL,
    warnings TEXT NOT NULL,
    run_lock TEXT,
    restoring TEXT
);
CREATE INDEX IF NOT EXISTS backups_newest_first ON backups (created_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS settings (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS backup_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    backup_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS backup_logs_newest_first ON backup_logs (created_at DESC, seq DESC);
CREATE INDEX IF NOT EXISTS backup_logs_by_backup ON backup_logs (backup_id, created_at DESC, seq DESC);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    backup_id TEXT
);
"""

_BACKUP_COLUMNS = (
    "id, filename, database_engine, database_name, database_host, database_server_version, source, "
    "created_by, created_at, status, compression, file_size, sha256, raw_size, is_protected, "
    "completed_at, error_message, locations, table_rows, warnings, run_lock, restoring"
)
_BACKUP_COLUMN_NAMES = tuple(column.strip() for column in _BACKUP_COLUMNS.split(","))
_COLUMNS_OF = {"database": tuple(name for name in _BACKUP_COLUMN_NAMES if name.startswith("database_"))}
"""The columns of a `Backup` attribute, where they are not just the column of its name."""
_ADDED_BACKUP_COLUMNS = ("run_lock", "restoring")
"""Nullable text columns newer than the first catalogs; added to an older file when it is opened."""


def _text(moment: datetime) -> str:
    """Fixed-width UTC ISO 8601, so that text order is time order."""
    return as_utc(moment).isoformat(timespec="microseconds")


def _optional_text(moment: datetime | None) -> str | None:
    return None if moment is None else _text(moment)


def _moment(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


def _backup_row(backup: Backup) -> tuple[Any, ...]:
    record = backup_to_record(backup)
    database = record["database"]
    return (
        record["id"],
        record["filename"],
        database["engine"],
        database["name"],
        database["host"],
        database["server_version"],
        record["source"],
        record["created_by"],
        _text(record["created_at"]),
        record["status"],
        record["compression"],
        record["file_size"],
        record["sha256"],
        record["raw_size"],
        int(record["is_protected"]),
        _optional_text(record["completed_at"]),
        record["error_message"],
        json.dumps(record["locations"]),
        json.dumps(record["table_rows"]),
        json.dumps(record["warnings"]),
        record["run_lock"],
        record["restoring"],
    )


def _backup_from_row(row: sqlite3.Row) -> Backup:
    return backup_from_record(
        {
            "id": row["id"],
            "filename": row["filename"],
            "database": {
                "engine": row["database_engine"],
                "name": row["database_name"],
                "host": row["database_host"],
                "server_version": row["database_server_version"],
            },
            "source": row["source"],
            "created_by": row["created_by"],
            "created_at": _moment(row["created_at"]),
            "status": row["status"],
            "compression": row["compression"],
            "file_size": row["file_size"],
            "sha256": row["sha256"],
            "raw_size": row["raw_size"],
            "is_protected": bool(row["is_protected"]),
            "completed_at": _moment(row["completed_at"]) if row["completed_at"] else None,
            "error_message": row["error_message"],
            "locations": json.loads(row["locations"]),
            "table_rows": json.loads(row["table_rows"]),
            "warnings": json.loads(row["warnings"]),
            "run_lock": row["run_lock"],
            "restoring": row["restoring"],
        }
    )


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    present = {row["name"] for row in connection.execute("PRAGMA table_info(backups)")}
    for column in _ADDED_BACKUP_COLUMNS:
        if column not in present:
            connection.execute(f"ALTER TABLE backups ADD COLUMN {column} TEXT")


class SQLiteCatalog:
    """The catalog in a SQLite file (WAL). Every write runs in its own `BEGIN IMMEDIATE` transaction."""

    def __init__(self, path: Path, clock: Clock | None = None) -> None:
        self._path = Path(path)
        self._clock = clock or SystemClock()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the catalog folder {self._path.parent}: {exc}") from exc
        with self._connection() as connection:
            connection.execute("PRAGMA journal_mode=WAL")
        with self._connection() as connection:
            connection.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}")
            _add_missing_columns(connection)
            connection.execute("COMMIT")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = sqlite3.connect(self._path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageError(
                f"cannot open the catalog {self._path}: {exc}; check that its folder is writable"
            ) from exc
        connection.row_factory = sqlite3.Row
        try:
            connection.execute("PRAGMA synchronous=FULL")
            yield connection
        except sqlite3.Error as exc:
            raise StorageError(f"the catalog {self._path} failed: {exc}") from exc
        finally:
            connection.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the write lock from its first statement (read-modify-write)."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            if connection.in_transaction:
                connection.execute("COMMIT")

    # Backups

    def add_backup(self, backup: Backup) -> None:
        row = _backup_row(backup)
        with self._transaction() as connection:
            try:
                connection.execute(
                    f"INSERT INTO backups ({_BACKUP_COLUMNS}) VALUES ({','.join('?' * len(row))})", row
                )
            except sqlite3.IntegrityError as exc:
                raise InvalidInputError(f"a backup with id {backup.id!r} exists already") from exc

    def update_backup(
        self,
        backup: Backup,
        *,
        only: Collection[str] = (),
        if_status: Collection[BackupStatus] = (),
    ) -> None:
        check_writable(only)
        values = dict(zip(_BACKUP_COLUMN_NAMES, _backup_row(backup), strict=True))
        columns = [column for name in only for column in _COLUMNS_OF.get(name, (name,))]
        columns = columns or list(_BACKUP_COLUMN_NAMES[1:])
        assignments = ", ".join(f"{column} = ?" for column in columns)
        with self._transaction() as connection:
            stored = connection.execute("SELECT status FROM backups WHERE id = ?", (backup.id,)).fetchone()
            if stored is None:
                raise NotFoundError(f"no backup with id {backup.id!r}")
            require_status(backup.id, stored[0], if_status)
            connection.execute(
                f"UPDATE backups SET {assignments} WHERE id = ?",
                (*(values[column] for column in columns), backup.id),
            )

    def get_backup(self, backup_id: str) -> Backup:
        with self._connection() as connection:
            row = connection.execute(
                f"SELECT {_BACKUP_COLUMNS} FROM backups WHERE id = ?", (backup_id,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no backup with id {backup_id!r}")
        return _backup_from_row(row)

    def list_backups(
        self, filter: BackupFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> BackupPage:
        check_limit(limit)
        conditions: list[str] = []
        params: list[Any] = []
        chosen = filter or BackupFilter()
        if chosen.status is not None:
            conditions.append("status = ?")
            params.append(str(chosen.status))
        if chosen.source is not None:
            conditions.append("source = ?")
            params.append(str(chosen.source))
        if chosen.is_protected is not None:
            conditions.append("is_protected = ?")
            params.append(int(chosen.is_protected))
        if chosen.run_lock is not None:
            conditions.append("run_lock = ?")
            params.append(chosen.run_lock)
        if cursor is not None:
            after_created_at, after_id = decode_cursor(cursor)
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            params.extend([_text(after_created_at), _text(after_created_at), after_id])
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT {_BACKUP_COLUMNS} FROM backups {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
        backups = [_backup_from_row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = backups[-1]
            next_cursor = encode_cursor(last.created_at, last.id)
        return BackupPage(backups=backups, next_cursor=next_cursor)

    def delete_backup(self, backup_id: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM backups WHERE id = ?", (backup_id,))

    # Settings

    def get_settings(self) -> BackupSettings:
        with self._connection() as connection:
            row = connection.execute("SELECT data FROM settings WHERE singleton = 1").fetchone()
        if row is None:
            return BackupSettings()
        record = json.loads(row["data"])
        if record.get("updated_at"):
            record["updated_at"] = _moment(record["updated_at"])
        return settings_from_record(record)

    def save_settings(self, settings: BackupSettings) -> None:
        record = settings_to_record(settings)
        record["updated_at"] = _text(self._clock.now())
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO settings (singleton, data) VALUES (1, ?) "
                "ON CONFLICT (singleton) DO UPDATE SET data = excluded.data",
                (json.dumps(record),),
            )

    # Audit log

    def add_log(self, entry: BackupLog) -> BackupLog:
        record = log_to_record(entry)
        record["id"] = record["id"] or uuid.uuid4().hex
        with self._transaction() as connection:
            try:
                connection.execute(
                    "INSERT INTO backup_logs (id, backup_id, actor, action, details, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record["id"],
                        record["backup_id"],
                        record["actor"],
                        record["action"],
                        json.dumps(record["details"], default=str),
                        _text(record["created_at"]),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise InvalidInputError(f"an audit entry with id {record['id']!r} exists already") from exc
        return log_from_record(record)

    def list_logs(self, backup_id: str | None = None, limit: int = 100) -> list[BackupLog]:
        check_limit(limit)
        where, params = ("WHERE backup_id = ?", [backup_id]) if backup_id is not None else ("", [])
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT id, backup_id, actor, action, details, created_at FROM backup_logs "
                f"{where} ORDER BY created_at DESC, seq DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [
            log_from_record(
                {**dict(row), "details": json.loads(row["details"]), "created_at": _moment(row["created_at"])}
            )
            for row in rows
        ]

    # Locks and run claims

    def acquire_lock(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        with self._transaction() as connection:
            row = connection.execute("SELECT owner, expires_at FROM locks WHERE name = ?", (name,)).fetchone()
            current = None if row is None else leases.LockRecord(row["owner"], _moment(row["expires_at"]))
            taken = leases.take_lock(current, name, owner, now, ttl)
            if taken is None:
                return False
            connection.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
                (name, taken.owner, _text(taken.expires_at)),
            )
            return True

    def release_lock(self, name: str, owner: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    def _run(self, connection: sqlite3.Connection, key: str) -> leases.RunRecord | None:
        row = connection.execute(
            "SELECT owner, state, expires_at, attempt, backup_id FROM runs WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return leases.RunRecord(
            owner=row["owner"],
            state=leases.RunState(row["state"]),
            expires_at=_moment(row["expires_at"]),
            attempt=row["attempt"],
            backup_id=row["backup_id"],
        )

    def _store_run(self, connection: sqlite3.Connection, key: str, record: leases.RunRecord) -> None:
        connection.execute(
            "INSERT INTO runs (key, owner, state, expires_at, attempt, backup_id) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, state = excluded.state, "
            "expires_at = excluded.expires_at, attempt = excluded.attempt, backup_id = excluded.backup_id",
            (
                key,
                record.owner,
                str(record.state),
                _text(record.expires_at),
                record.attempt,
                record.backup_id,
            ),
        )

    def claim_run(self, key: str, owner: str, now: datetime, ttl: timedelta) -> RunClaim:
        with self._transaction() as connection:
            answer, record = leases.claim(self._run(connection, key), key, owner, now, ttl)
            if record is not None:
                self._store_run(connection, key, record)
            return answer

    def finish_run(self, key: str, owner: str, backup_id: str | None, succeeded: bool) -> bool:
        with self._transaction() as connection:
            record = leases.finish(self._run(connection, key), owner, backup_id, succeeded)
            if record is None:
                return False
            self._store_run(connection, key, record)
            return True
