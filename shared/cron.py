"""Validation of five-field cron expressions as Cloud Scheduler accepts them (unix-cron)."""

from __future__ import annotations

import re

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: number + 1 for number, name in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {name: number for number, name in enumerate(_WEEKDAYS)}),
)
_ITEM = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")


def cron_problem(expression: str) -> str | None:
    """None when `expression` is a valid unix-cron schedule, else what is wrong with it."""
    parts = expression.split()
    if len(parts) != 5:
        return (
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    for text, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in text.lower().split(","):
            problem = _item_problem(item, low, high, names)
            if problem:
                return f"{name} field {text!r}: {problem}"
    return None


def _item_problem(item: str, low: int, high: int, names: dict[str, int]) -> str | None:
    match = _ITEM.match(item)
    if not match:
        return f"{item!r} is not a value, range or step"
    span, step = match.groups()
    if step is not None and int(step) == 0:
        return "a step must be at least 1"
    if span == "*":
        return None
    bounds = span.split("-")
    values = []
    for bound in bounds:
        value = names.get(bound) if not bound.isdigit() else int(bound)
        if value is None:
            return f"{bound!r} is not a number or a known name"
        if not low <= value <= high:
            return f"{value} is outside {low}–{high}"
        values.append(value)
    if len(values) == 2 and values[0] > values[1]:
        return f"range {span!r} runs backwards"
    return None
