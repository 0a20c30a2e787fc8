"""Retry an operation with exponential backoff and full jitter, as a wrapper around the call."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from shared.redaction import redact

T = TypeVar("T")

logger = logging.getLogger(__name__)


class RetriesExhaustedError(Exception):
    """Every attempt failed with a transient error; `__cause__` holds the last one."""

    def __init__(self, description: str, attempts: int) -> None:
        super().__init__(f"{description} failed {attempts} times in a row")
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry. `sleep` and `jitter` are injectable so tests don't wait."""

    attempts: int = 7
    base_delay: float = 1.0
    max_delay: float = 32.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be at least 1, not {self.attempts}")

    def delay_before(self, retry_number: int) -> float:
        """Seconds to wait before retry `retry_number` (1-based): full jitter over an exponential cap."""
        cap = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return float(cap * self.jitter())

    def call(
        self,
        operation: Callable[[], T],
        *,
        is_transient: Callable[[BaseException], bool],
        description: str,
    ) -> T:
        """Run `operation`; on a transient error wait and run it again. Permanent errors pass through.
        After the last attempt raises `RetriesExhaustedError` from the last transient error."""
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except Exception as error:
                if not is_transient(error):
                    raise
                if attempt == self.attempts:
                    raise RetriesExhaustedError(description, attempt) from error
                delay = self.delay_before(attempt)
                logger.warning(
                    "%s failed (attempt %d of %d): %s; retrying in %.1f s",
                    description,
                    attempt,
                    self.attempts,
                    redact(str(error)),
                    delay,
                )
                self.sleep(delay)
        raise AssertionError("unreachable: attempts must be at least 1")

