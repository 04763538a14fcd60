"""Retry with backoff + full jitter honouring Retry-After, a circuit breaker, and
the concurrency slot taken without a task switch when one is free.

All are plain values owned by one provider actor, so every caller of that
provider shares them; nothing is global.
"""

from __future__ import annotations

import enum
import random

import attrs
import trio

from ..errors import (
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ValidationError,
)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to wait before trying again.

    Only retryable errors are retried, and (for streams) only before the
    first token reached the caller. The wait is full jitter — uniform in
    [0, min(max_delay, base_delay * 2**(attempt-1))] — unless the provider
    said Retry-After, which is honoured exactly (up to `max_retry_after`:
    a longer wait raises instead, so a caller is never parked for minutes).
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValidationError(f"max_attempts must be >= 1 (got {self.max_attempts})")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValidationError("retry delays must be >= 0 seconds")

    def delay(self, attempt: int, error: ProviderError, rng: random.Random) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if not error.retryable or attempt >= self.max_attempts:
            return None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@attrs.define(eq=False)
class CircuitBreaker:
    """closed → (failure_threshold failures in a row) → open → (reset_after s) →
    half-open: one trial call; success closes, failure opens again.

    It counts failed *calls*, not attempts: a call that is retried counts
    once, when it finally fails (one caller's retries cannot open it for
    every tenant). Only failures that say the provider is unhealthy count
    (unavailable, timeout); a bad request, a rate limit or a bug of ours
    says nothing about its health. In half-open state the trial is one
    attempt: if it fails, the breaker opens again at once.
    """

    failure_threshold: int = 5
    reset_after: float = 30.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    _opened_at: float = 0.0
    _trial_running: bool = False

    def __attrs_post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValidationError("failure_threshold must be >= 1")
        if not self.reset_after > 0:
            raise ValidationError("reset_after must be > 0 seconds")

    def admit(self) -> float | None:
        """None when the call may go ahead; else seconds until the breaker half-opens."""
        if self.state is BreakerState.OPEN:
            waited = trio.current_time() - self._opened_at
            if waited < self.reset_after:
                return self.reset_after - waited
            self.state = BreakerState.HALF_OPEN
        if self.state is BreakerState.HALF_OPEN:
            if self._trial_running:
                return 0.0
            self._trial_running = True
        return None

    def succeeded(self) -> None:
        self.failures = 0
        self.state = BreakerState.CLOSED
        self._trial_running = False

    def failed(self, error: BaseException) -> None:
        if not isinstance(error, ProviderUnavailable | ProviderTimeout):
            self.finished_neutral()
            return
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self._opened_at = trio.current_time()
        self._trial_running = False

    def retrying(self, error: BaseException) -> None:
        """An attempt failed and its call will try again: counted only when it
        was the half-open trial (then the provider is still unhealthy)."""
        if self.state is BreakerState.HALF_OPEN:
            self.failed(error)

    def finished_neutral(self) -> None:
        """The call ended without telling us anything (cancelled, bad request)."""
        self._trial_running = False


class FreeSlot:
    """`async with limiter`, without its task switch when a slot is free
    (`acquire` always yields once: a scheduler pass per call in a burst)."""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: trio.CapacityLimiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        try:
            self._limiter.acquire_nowait()
        except trio.WouldBlock:
            await self._limiter.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._limiter.release()
