"""Retry delays and the circuit breaker, as values (no network)."""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors import (
    BadRequest,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ValidationError,
)
from abstractcore_actors.providers import BreakerState, CircuitBreaker, RetryPolicy

WHERE = {"provider": "p", "model": "m"}


@given(attempt=st.integers(min_value=1, max_value=10), seed=st.integers())
def test_full_jitter_stays_within_the_exponential_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy(max_attempts=11, base_delay=0.5, max_delay=8)
    delay = policy.delay(attempt, ProviderUnavailable("down", **WHERE), random.Random(seed))
    assert delay is not None
    assert 0 <= delay <= min(8, 0.5 * 2 ** (attempt - 1))


def test_retry_after_is_honoured_exactly_and_capped() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=10)
    rng = random.Random(0)
    assert policy.delay(1, RateLimited("slow", retry_after=2.5, **WHERE), rng) == 2.5
    assert policy.delay(1, RateLimited("slow", retry_after=60, **WHERE), rng) is None


def test_non_retryable_errors_and_the_last_attempt_give_up() -> None:
    policy = RetryPolicy(max_attempts=2)
    rng = random.Random(0)
    assert policy.delay(1, BadRequest("bad", **WHERE), rng) is None
    assert policy.delay(2, ProviderUnavailable("down", **WHERE), rng) is None


def test_bad_retry_policy() -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(max_attempts=0)


async def test_breaker_opens_half_opens_and_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_after=10)
    for _ in range(3):
        assert breaker.admit() is None
        breaker.failed(ProviderTimeout("slow", **WHERE))
    assert breaker.state is BreakerState.OPEN
    wait = breaker.admit()
    assert wait == pytest.approx(10)
    await trio.sleep(10)
    assert breaker.admit() is None  # the one trial call
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.admit() == 0.0  # a second caller waits for the trial
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() is None


async def test_a_failed_trial_opens_again(autojump_clock: trio.testing.MockClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_after=5)
    breaker.failed(ProviderUnavailable("down", **WHERE))
    await trio.sleep(5)
    assert breaker.admit() is None
    breaker.failed(ProviderUnavailable("still down", **WHERE))
    assert breaker.state is BreakerState.OPEN


def test_bad_requests_and_rate_limits_do_not_count_as_unhealthy() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    breaker.failed(BadRequest("bad", **WHERE))
    breaker.failed(RateLimited("slow", **WHERE))
    assert breaker.state is BreakerState.CLOSED
