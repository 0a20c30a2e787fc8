"""The page sizes a catalog accepts."""

from __future__ import annotations

from shared.errors import InvalidInputError

MAX_PAGE_SIZE = 1000


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE} (got {limit!r})")
