"""Could a backup of the configured database be taken now? (the `db-test` command)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.errors import BackupServiceError
from shared.redaction import redact
from shared.services.context import ServiceContext


@dataclass(frozen=True)
class DatabaseCheck:
    configured: bool
    ok: bool
    message: str
    database: str | None = None
    engine: str | None = None
    restore_ok: bool | None = None
    """Whether a restore would start (None: not asked, as the backup check failed)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "ok": self.ok,
            "restore_ok": self.restore_ok,
            "database": self.database,
            "engine": self.engine,
            "message": self.message,
        }


def check_database(context: ServiceContext) -> DatabaseCheck:
    """Connect as a backup would and check, without taking one, what a backup needs there (the user's
    privileges to see every object on MySQL, client tools and table privileges on PostgreSQL); then
    whether a restore would start (MySQL: the privileges to drop and re-create what there is)."""
    url = context.config.database_url
    if url is None:
        return DatabaseCheck(
            False, False, "No database is configured: set BACKUP_DATABASE_URL (mysql://… or postgresql://…)"
        )
    where, engine = url.redacted(), context.engine_factory(url)
    if problem := _problem(engine.check_connection, [url.password or ""]):
        message = f"A backup of {where} would fail: {problem}"
        return DatabaseCheck(True, False, message, url.database, url.engine)
    if problem := _problem(engine.check_restore, [url.password or ""]):
        message = f"A backup of {where} can be complete, but a restore would be refused: {problem}"
        return DatabaseCheck(True, False, message, url.database, url.engine, restore_ok=False)
    message = f"{where} is reachable, a backup there can be complete, and a restore would start"
    return DatabaseCheck(True, True, message, url.database, url.engine, restore_ok=True)


def _problem(check: Callable[[], None], secrets: list[str]) -> str | None:
    try:
        check()
    except Exception as exc:
        reason = str(exc) if isinstance(exc, BackupServiceError) else f"{type(exc).__name__}: {exc}"
        return redact(reason, secrets)
    return None
