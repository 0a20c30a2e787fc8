"""RetryPolicy: exponential backoff with full jitter, wrapped around a call, with an injectable sleep."""

from __future__ import annotations

import pytest

from shared.storage.retry import RetriesExhaustedError, RetryPolicy


class Flaky:
    """Fails with `error` the first `failures` times it is called, then returns "done"."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def transient_if_connection_error(error: BaseException) -> bool:
    return isinstance(error, ConnectionError)


def test_transient_failures_are_retried_with_exponentially_growing_capped_delays() -> None:
    delays: list[float] = []
    policy = RetryPolicy(attempts=7, base_delay=1.0, max_delay=8.0, sleep=delays.append, jitter=lambda: 1.0)
    operation = Flaky(6, ConnectionError("reset"))

    result = policy.call(operation, is_transient=transient_if_connection_error, description="op")

    assert result == "done"
    assert operation.calls == 7
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_scales_each_delay_below_its_cap() -> None:
    delays: list[float] = []
    policy = RetryPolicy(attempts=3, base_delay=2.0, sleep=delays.append, jitter=lambda: 0.25)

    policy.call(Flaky(2, ConnectionError()), is_transient=transient_if_connection_error, description="op")

    assert delays == [0.5, 1.0]


def test_permanent_errors_pass_through_at_once() -> None:
    delays: list[float] = []
    operation = Flaky(1, ValueError("bad request"))

    with pytest.raises(ValueError, match="bad request"):
        RetryPolicy(sleep=delays.append).call(
            operation, is_transient=transient_if_connection_error, description="op"
        )

    assert operation.calls == 1
    assert delays == []


def test_exhausted_retries_raise_with_the_last_error_as_cause() -> None:
    last = ConnectionError("still down")
    operation = Flaky(10, last)

    with pytest.raises(RetriesExhaustedError, match="upload failed 3 times") as raised:
        RetryPolicy(attempts=3, sleep=lambda _s: None).call(
            operation, is_transient=transient_if_connection_error, description="upload"
        )

    assert raised.value.__cause__ is last
    assert operation.calls == 3


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(attempts=0)
