"""Per function: its permission, and one request that fails validation (an admitted call changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Operation:
    target: str
    permission: str
    method: str
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)


INVALID_CALLS = (
    Operation("list_backups", "backups.view", "GET", query={"limit": "0"}),
    Operation("create_backup", "backups.create", "POST", body={"protect": "yes"}),
    Operation("delete_backup", "backups.delete", "POST", body={}),
    Operation("download_backup", "backups.download", "GET"),
    Operation("restore_backup", "backups.restore", "POST", body={"id": "abc", "confirm": "abd"}),
    Operation("cleanup_backups", "backups.manage-settings", "POST", body={"dry_run": 1}),
    Operation("backup_settings", "backups.manage-settings", "PUT", body={"retention_daily": -1}),
    Operation("scheduled_backup", "backups.run-scheduled", "POST", body={}),
    Operation("scheduled_cleanup", "backups.run-scheduled", "POST", body={"now": True}),
)
