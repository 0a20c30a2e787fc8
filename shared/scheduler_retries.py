"""When Cloud Scheduler retries a failed job (its `retry_config`), and so which attempt can come when.

The interval before the first retry is the minimum backoff; it doubles `max_doublings` times, then grows
by that last doubled interval each time, and never passes the maximum backoff (Cloud Scheduler's
`RetryConfig`: 10 s, 20 s, 40 s, 80 s, 160 s, 240 s, 300 s, 300 s for 10 s, 300 s and 3 doublings).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryBackoff:
    min_seconds: int = 60
    max_seconds: int = 600
    max_doublings: int = 3

    def interval(self, retry: int) -> int:
        """Seconds between the end of an attempt and retry number `retry` (1 is the first retry)."""
        doublings = min(retry - 1, self.max_doublings)
        doubled = self.min_seconds << doublings
        grown = doubled * (retry - self.max_doublings) if retry - 1 > self.max_doublings else doubled
        return min(grown, self.max_seconds)

    def attempts_possible(self, elapsed_seconds: float, max_retries: int) -> int:
        """The most attempts Scheduler can have made `elapsed_seconds` after the scheduled time, each one
        taking no time: 1 at first, at most `max_retries` + 1."""
        waited, attempts = 0, 1
        for retry in range(1, max_retries + 1):
            waited += self.interval(retry)
            if elapsed_seconds < waited:
                break
            attempts += 1
        return attempts


TERRAFORM_DEFAULT = RetryBackoff()
"""The backoff `infra/scheduler.tf` gives both jobs."""
