"""When a lock or run claim document may be deleted (`leases.delete_after`): what its TTL field holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.catalog import leases
from shared.errors import InvalidInputError

WRITTEN = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def test_kept_thirty_days_after_the_claim_expires_when_it_expires_after_the_write() -> None:
    expires = WRITTEN + timedelta(minutes=10)
    kept = leases.KEPT_AFTER_LAST_WRITE
    assert kept == timedelta(days=30)
    assert leases.delete_after(WRITTEN, expires) == expires + timedelta(days=30)


def test_kept_thirty_days_after_the_write_when_the_claim_expired_before_it() -> None:
    """A run finished (or a claim refreshed with a caller's older `now`) after its claim expired."""
    expires = WRITTEN - timedelta(hours=2)
    assert leases.delete_after(WRITTEN, expires) == WRITTEN + timedelta(days=30)


def test_any_time_zone_gives_the_same_instant_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    expired = WRITTEN - timedelta(days=1)
    moment = leases.delete_after(WRITTEN.astimezone(plus_two), expired.astimezone(plus_two))
    assert moment == WRITTEN + timedelta(days=30)
    assert moment.tzinfo is UTC


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        leases.delete_after(WRITTEN.replace(tzinfo=None), WRITTEN)
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        leases.delete_after(WRITTEN, WRITTEN.replace(tzinfo=None))
