import pytest

from indexer.errors import StoreRequestRejected, StoreUnavailable
from indexer.retry import RetryPolicy, call_with_retry

FAST = RetryPolicy(attempts=3, initial_delay_s=0.0)


class Flaky:
    """Fails with the given error for the first `failures` calls, then returns 'ok'."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "ok"


def test_transient_errors_are_retried_until_success() -> None:
    operation = Flaky(2, StoreUnavailable("down"))
    assert call_with_retry(operation, FAST, "op") == "ok"
    assert operation.calls == 3


def test_gives_up_after_the_last_attempt() -> None:
    operation = Flaky(5, StoreUnavailable("down"))
    with pytest.raises(StoreUnavailable):
        call_with_retry(operation, FAST, "op")
    assert operation.calls == 3


def test_permanent_errors_are_not_retried() -> None:
    operation = Flaky(1, StoreRequestRejected("bad request"))
    with pytest.raises(StoreRequestRejected):
        call_with_retry(operation, FAST, "op")
    assert operation.calls == 1


def test_delays_grow_and_are_capped() -> None:
    policy = RetryPolicy(attempts=5, initial_delay_s=1.0, multiplier=3.0, max_delay_s=5.0)
    assert policy.delays() == [1.0, 3.0, 5.0, 5.0]
