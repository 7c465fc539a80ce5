"""Retrying calls that failed for a transient reason (StoreUnavailable), with exponential backoff."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from indexer.errors import StoreUnavailable
from settings import IndexerSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry: waits grow by multiplier from initial_delay_s to max_delay_s."""

    attempts: int = 4
    initial_delay_s: float = 0.2
    multiplier: float = 2.0
    max_delay_s: float = 5.0

    def delays(self) -> list[float]:
        """The waits between consecutive attempts."""
        return [min(self.initial_delay_s * self.multiplier**n, self.max_delay_s) for n in range(self.attempts - 1)]


def retry_policy(settings: IndexerSettings) -> RetryPolicy:
    """The retry policy the indexer settings describe."""
    return RetryPolicy(attempts=settings.retry_attempts, initial_delay_s=settings.retry_initial_delay_s)


def call_with_retry(operation: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    """Run operation; on StoreUnavailable wait and try again, re-raising after the last attempt."""
    for delay in policy.delays():
        try:
            return operation()
        except StoreUnavailable as error:
            logger.warning("%s failed (%s); retrying in %.1f s", what, error, delay)
            time.sleep(delay)
    return operation()
