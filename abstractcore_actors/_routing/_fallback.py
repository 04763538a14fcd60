"""When a router falls back to its next deployment, and for how long it
leaves a failed one alone.

Falls back on what is the deployment's trouble: a retryable error, a
timeout, an open breaker or a paused actor, a rate limit, a bad answer, a
rejected key, something this deployment cannot do (UnsupportedOperation),
a bug met in its call; and on `ContextTooLong`, to a deployment with a
larger window. Never on what the request itself caused (any other 4xx,
ValidationError): every deployment would refuse it too.
"""

from __future__ import annotations

import attrs

from ..errors import (
    AuthenticationError,
    BadRequest,
    CircuitOpen,
    ContextTooLong,
    InternalError,
    InvalidResponse,
    ProviderError,
    ProviderPaused,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    UnsupportedOperation,
)


@attrs.frozen
class Verdict:
    fall_back: bool
    cooldown: float | None = None  # seconds to leave the deployment alone
    larger_window: bool = False  # only a deployment with a larger window may help


def verdict(error: BaseException) -> Verdict:
    if isinstance(error, ContextTooLong):
        return Verdict(True, larger_window=True)
    if isinstance(error, CircuitOpen):
        return Verdict(True, error.retry_after or None)
    if isinstance(error, ProviderPaused):
        return Verdict(True, error.retry_after)
    if isinstance(error, RateLimited):
        return Verdict(True, error.retry_after)
    if isinstance(error, UnsupportedOperation):
        return Verdict(True)
    if isinstance(error, BadRequest):
        return Verdict(False)  # the request's own fault
    if isinstance(
        error,
        ProviderTimeout
        | ProviderUnavailable
        | InvalidResponse
        | AuthenticationError
        | InternalError,
    ):
        return Verdict(True)
    if isinstance(error, ProviderError):
        return Verdict(error.retryable)
    return Verdict(False)  # ValidationError, a bug: raised to the caller as it is
