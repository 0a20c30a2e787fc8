"""Validating and applying changes to `BackupSettings`, with one message per field that is wrong."""

from __future__ import annotations

import calendar
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from typing import Any
from zoneinfo import available_timezones

from shared.cron import cron_problem
from shared.errors import ConfigurationError, InvalidInputError
from shared.models import BackupSettings, ScheduleFrequency, StorageKind
from shared.storage.drive_credentials import OAuthRefreshToken

_NOT_IN_ADDRESSES = r"@\s,;:<>()\[\]\\\""
_EMAIL = re.compile(rf"^[^{_NOT_IN_ADDRESSES}]+@[^{_NOT_IN_ADDRESSES}']+\.[^{_NOT_IN_ADDRESSES}']+$")
"""An address as people write one (o'brien@example.com): no list brackets, quotes around it, display names
or `<>`, as pasted text would bring."""
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_WHOLE = re.compile(r"^[+-]?[0-9]{1,18}$")
_NOT_IANA_ZONES = frozenset({"localtime", "posixrules", "Factory"})
"""Files of the tz database folder that are no zone names Cloud Scheduler takes (`posix/`, `right/` too)."""
_MONTH_NAMES = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_DRIVE_SHAPE = (
    "must be the JSON an OAuth tool writes, an object with client_id, client_secret and refresh_token"
)
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


def parse_drive_credentials(text: object, secret_name: str = "") -> OAuthRefreshToken:
    """Drive OAuth credentials as the wiring reads them from their secret: a JSON object with client_id,
    client_secret and refresh_token (token_uri optional), all text. Raises `ValueError` saying what to
    fix; the message never quotes the value."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{_DRIVE_SHAPE}; got nothing")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise ValueError(f"{_DRIVE_SHAPE}; this is not JSON ({where})") from None
    except RecursionError:
        raise ValueError(f"{_DRIVE_SHAPE}; this JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError(f"{_DRIVE_SHAPE}; this JSON is not an object")
    keys = ("client_id", "client_secret", "refresh_token", "token_uri")
    not_text = [key for key in keys if key in data and not isinstance(data[key], str)]
    if not_text:
        raise ValueError(f"{', '.join(not_text)} must be text; {_DRIVE_SHAPE}")
    try:
        return OAuthRefreshToken.from_mapping(data, secret_name)
    except ConfigurationError as exc:
        raise ValueError(f"{exc}; {_DRIVE_SHAPE}") from None


def drive_credentials_problems(text: object) -> dict[str, str]:
    """`{"drive_credentials": what to fix}` when `text` is not usable Drive credentials, else empty."""
    try:
        parse_drive_credentials(text)
    except ValueError as exc:
        return {"drive_credentials": str(exc)}
    return {}


def drive_switch_problems(
    changes: Mapping[str, Any], current: BackupSettings, storage: tuple[StorageKind, ...]
) -> dict[str, str]:
    """`{"google_drive_enabled": why}` when the change could not take effect: only with `local,drive` does
    the setting choose whether backups go to Drive (`storage` is `BACKUP_STORAGE`). Saving the `current`
    value again is no change, so settings read and written back whole are accepted."""
    if "google_drive_enabled" not in changes:
        return {}
    try:
        enabled = _bool(changes["google_drive_enabled"])
    except ValueError:
        return {}  # `apply_changes` names the value
    if enabled == current.google_drive_enabled:
        return {}
    configured = ",".join(str(kind) for kind in storage)
    optional = "deploy with BACKUP_STORAGE=local,drive to make the Drive copy optional"
    if enabled and StorageKind.DRIVE not in storage:
        why = f"cannot be true: BACKUP_STORAGE is {configured}, so no backup goes to Drive; {optional}"
        return {"google_drive_enabled": why}
    if not enabled and storage == (StorageKind.DRIVE,):
        why = f"cannot be false: BACKUP_STORAGE is drive, so every backup goes to Drive; {optional}"
        return {"google_drive_enabled": why}
    return {}


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
    if isinstance(value, str) and _WHOLE.match(value.strip()):
        return int(value.strip())
    raise ValueError(f"must be a whole number such as 7, got {str(value)[:40]!r}")


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
    problem = cron_problem(value) or _never_runs(value.lower().split())
    if problem:
        raise ValueError(problem)
    return " ".join(value.split())


def _never_runs(parts: list[str]) -> str | None:
    """A valid cron whose days of month fall in none of its months (`0 0 31 2 *`) never fires. With a
    restricted day of week the job also runs on those weekdays, so only an unrestricted one is checked."""
    day_text, month_text, weekday_text = parts[2], parts[3], parts[4]
    if day_text.startswith("*") or not weekday_text.startswith("*"):
        return None
    first_day = min(_cron_values(day_text, 1, 31, {}))
    months = _cron_values(month_text, 1, 12, _MONTH_NAMES)
    if any(first_day <= calendar.monthrange(2024, month)[1] for month in months):  # 2024: a leap year
        return None
    return (
        f"day of month {day_text!r} never occurs in month {month_text!r}, so the schedule would never run"
    )


def _cron_values(text: str, low: int, high: int, names: Mapping[str, int]) -> set[int]:
    """The values one field of a cron that `cron_problem` accepted stands for."""
    values: set[int] = set()
    for item in text.split(","):
        span, _, step = item.partition("/")
        if span == "*":
            start, end = low, high
        else:
            bounds = [names[bound] if bound in names else int(bound) for bound in span.split("-")]
            start = bounds[0]
            end = bounds[-1] if len(bounds) == 2 else (high if step else start)
        values.update(range(start, end + 1, int(step) if step else 1))
    return values


def _time_zone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be an IANA time zone such as UTC or Europe/Berlin")
    name = value.strip()
    if name not in _iana_zone_names():
        raise ValueError(
            f"unknown time zone {name[:64]!r}; use an IANA tz database name such as UTC or Europe/Berlin"
        )
    return name


@functools.cache
def _iana_zone_names() -> frozenset[str]:
    """The zone names Cloud Scheduler takes: the tz database's, without the folder's other entries."""
    return frozenset(
        name
        for name in available_timezones()
        if name not in _NOT_IANA_ZONES and not name.startswith(("posix/", "right/"))
    )


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
