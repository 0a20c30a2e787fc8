"""Validating and applying changes to `BackupSettings`, with one message per field that is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.cron import cron_problem
from shared.errors import InvalidInputError
from shared.models import BackupSettings, ScheduleFrequency

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
EDITABLE = tuple(f.name for f in fields(BackupSettings) if f.name != "updated_at")
MAX_RETENTION = 3650


class SettingsValidationError(InvalidInputError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("invalid settings: " + "; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def apply_changes(current: BackupSettings, changes: Mapping[str, Any]) -> BackupSettings:
    """A new settings record with `changes` applied. Values may be typed (JSON) or text (command line).
    Raises `SettingsValidationError` naming every field that is wrong; `current` is never modified."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in EDITABLE:
            errors[key] = f"unknown setting; known settings are {', '.join(EDITABLE)}"
            continue
        try:
            parsed[key] = _PARSERS[key](value)
        except ValueError as exc:
            errors[key] = str(exc)
    if errors:
        raise SettingsValidationError(errors)
    updated = replace(current, **parsed)
    errors.update(_cross_field_problems(updated))
    if errors:
        raise SettingsValidationError(errors)
    return updated


def _cross_field_problems(settings: BackupSettings) -> dict[str, str]:
    problems: dict[str, str] = {}
    if settings.schedule_frequency is ScheduleFrequency.CUSTOM and not settings.cron_expression:
        problems["cron_expression"] = "required when schedule_frequency is custom"
    if settings.google_drive_enabled and not settings.google_drive_folder_id:
        problems["google_drive_folder_id"] = "required when google_drive_enabled is true"
    return problems


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {
        "true",
        "1",
        "yes",
        "on",
        "false",
        "0",
        "no",
        "off",
    }:
        return value.strip().lower() in {"true", "1", "yes", "on"}
    raise ValueError(f"must be true or false, got {value!r}")


def _retention(value: Any) -> int:
    number = _whole(value)
    if not 0 <= number <= MAX_RETENTION:
        raise ValueError(f"must be between 0 and {MAX_RETENTION}, got {number}")
    return number


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"must be a whole number, got {value!r}")


def _frequency(value: Any) -> ScheduleFrequency:
    try:
        return ScheduleFrequency(str(value).strip().lower())
    except ValueError:
        raise ValueError(f"must be one of daily, weekly, custom; got {value!r}") from None


def _time(value: Any) -> str:
    if not isinstance(value, str) or not _TIME.match(value.strip()):
        raise ValueError(f"must be a 24-hour time HH:MM, got {value!r}")
    return value.strip()


def _weekday(value: Any) -> int:
    number = _whole(value)
    if not 0 <= number <= 6:
        raise ValueError(f"must be 0 (Monday) to 6 (Sunday), got {number}")
    return number


def _cron(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a cron expression, got {value!r}")
    problem = cron_problem(value)
    if problem:
        raise ValueError(problem)
    return " ".join(value.split())


def _time_zone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be an IANA time zone such as UTC or Europe/Berlin")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
    return value.strip()


def _folder_id(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{10,200}", value.strip()):
        raise ValueError(f"must be a Google Drive folder id (letters, digits, - and _), got {value!r}")
    return value.strip()


def _emails(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    emails = [str(item).strip() for item in items if str(item).strip()]
    bad = [email for email in emails if not _EMAIL.match(email)]
    if bad:
        raise ValueError(f"not valid e-mail addresses: {', '.join(bad)}")
    if len(emails) > 50:
        raise ValueError("at most 50 addresses")
    return emails


_PARSERS: dict[str, Any] = {
    "schedule_enabled": _bool,
    "schedule_frequency": _frequency,
    "schedule_time": _time,
    "schedule_weekday": _weekday,
    "cron_expression": _cron,
    "time_zone": _time_zone,
    "retention_daily": _retention,
    "retention_weekly": _retention,
    "retention_monthly": _retention,
    "google_drive_enabled": _bool,
    "google_drive_folder_id": _folder_id,
    "notification_emails": _emails,
}
assert set(_PARSERS) == set(EDITABLE), "every editable setting needs a parser"
