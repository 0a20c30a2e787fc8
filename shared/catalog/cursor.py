"""The opaque paging cursor of `list_backups`: the last listed backup's created_at and id."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from shared.catalog.records import as_utc, check_backup_id
from shared.errors import InvalidInputError

_VERSION = 1


def encode_cursor(created_at: datetime, backup_id: str) -> str:
    payload = json.dumps(
        {"v": _VERSION, "c": as_utc(created_at).isoformat(timespec="microseconds"), "i": backup_id},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of the item the next page starts after; `InvalidInputError` if not ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, dict) or payload.get("v") != _VERSION:
            raise ValueError("unknown cursor version")
        created_at_text, backup_id = payload["c"], payload["i"]
        if not isinstance(created_at_text, str) or not isinstance(backup_id, str):
            raise ValueError("incomplete cursor")
        created_at = datetime.fromisoformat(created_at_text)
        if created_at.tzinfo is None:
            raise ValueError("incomplete cursor")
        return as_utc(created_at), check_backup_id(backup_id)
    except (
        binascii.Error,
        ValueError,
        KeyError,
        TypeError,
        OverflowError,
        RecursionError,
        InvalidInputError,
    ) as exc:
        raise InvalidInputError(
            "invalid cursor: pass back the next_cursor of a previous page unchanged"
        ) from exc
