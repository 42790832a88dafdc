"""Rate limiting and retry timing: a token bucket, exponential backoff with jitter, and
Retry-After parsing. Pure logic with injectable clocks, so it is unit-tested without sleeping."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from healthprep_desktop.fhir.config import RetryConfig

# 500 is included because EHR gateways answer it for transient back-end trouble; only
# idempotent requests are retried on it (see FhirClient.send).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TokenBucket:
    """Allows `rate` acquisitions per second with bursts up to `burst`.

    Acquirers reserve their slot under a lock and then sleep outside it, so N waiters are spaced
    exactly 1/rate apart instead of waking together and racing (which would trip a server-side
    limiter with the same rate).
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate < 0 or burst < 1:
            raise ValueError("rate must be >= 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = asyncio.Lock()

    def reserve(self) -> float:
        """Take one token now (possibly going into debt); return how long to wait before use."""
        if self.rate == 0:
            return 0.0
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        async with self._lock:
            wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(
    attempt: int,
    policy: RetryConfig,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number `attempt` (1 = first retry).

    "Equal jitter" (uniform cap/2..cap) spreads the retries of many concurrent requests while
    keeping the exponential growth. A Retry-After from the server is obeyed as given (capped at
    max_retry_after); the client's token bucket spaces the requests that resume together.
    """
    if attempt < 1:
        raise ValueError("attempt starts at 1")
    cap = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    jittered = (rng or random).uniform(cap / 2, cap)
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    return jittered


def is_retryable_status(status: int) -> bool:
    return status in RETRY_STATUSES
