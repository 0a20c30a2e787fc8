"""Could a backup of the configured database be taken now? (the `db-test` command)."""

from __future__ import annotations

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "configured": self.configured,
            "ok": self.ok,
            "database": self.database,
            "engine": self.engine,
            "message": self.message,
        }


def check_database(context: ServiceContext) -> DatabaseCheck:
    """Connect as a backup would, and check what a backup needs there without taking one: the user's
    privileges to see every object (MySQL), the client tools and table privileges (PostgreSQL)."""
    url = context.config.database_url
    if url is None:
        return DatabaseCheck(
            False, False, "No database is configured: set BACKUP_DATABASE_URL (mysql://… or postgresql://…)"
        )
    where = url.redacted()
    try:
        context.engine_factory(url).check_connection()
    except Exception as exc:
        reason = str(exc) if isinstance(exc, BackupServiceError) else f"{type(exc).__name__}: {exc}"
        message = f"A backup of {where} would fail: {redact(reason, [url.password] if url.password else [])}"
        return DatabaseCheck(True, False, message, url.database, url.engine)
    return DatabaseCheck(
        True, True, f"{where} is reachable, and a backup there can be complete", url.database, url.engine
    )
