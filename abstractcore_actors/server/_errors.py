"""Every gateway error as OpenAI's shape: `{"error": {message, type, code, param}}`.

Our own error tree is mapped to HTTP statuses once, here:

    ValidationError (bad input)            400 invalid_request_error
    BadRequest from upstream               400 invalid_request_error
      ContextTooLong                       400 code=context_length_exceeded
    RateLimited                            429 rate_limit_error (+ Retry-After)
    AuthenticationError from upstream      502 upstream_error: the gateway's own
                                           provider key is wrong, not the caller's
    InvalidResponse, AllAttemptsFailed     502 upstream_error
    ProviderUnavailable, CircuitOpen       503 service_unavailable
      ProviderPaused                       503 code=provider_paused (+ Retry-After)
    ProviderTimeout                        504 timeout
    PatternTimeout (a race's deadline)     504 timeout code=pattern_timeout
    BudgetExceeded                         429 insufficient_quota code=budget_exceeded
                                           (+ Retry-After: when the budget resets)
    RateLimitExceeded (a key's rpm/tpm)    429 rate_limit_error code=rate_limit_exceeded
    UnpricedUnderBudget                    400 code=unpriced_model
    BudgetStoreUnavailable (Redis down)    503 code=budget_store_unavailable
    InternalError (a bug met in one call)  500 server_error code=internal_error
    anything else                          500 server_error, with a fixed message

Messages are our errors' messages, which adapters already redact; they go
through `redact` once more here so a key can never reach a client.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .._budgets import UnpricedUnderBudget
from .._redact import redact
from ..errors import (
    AllAttemptsFailed,
    AuthenticationError,
    BadRequest,
    BudgetExceeded,
    BudgetStoreUnavailable,
    ContextTooLong,
    InternalError,
    InvalidResponse,
    PatternTimeout,
    ProviderError,
    ProviderPaused,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    RateLimitExceeded,
    ValidationError,
)


class HTTPError(Exception):
    """An error response: status, OpenAI error type and code, offending param."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or []

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": redact(self.message),
                "type": self.type,
                "code": self.code,
                "param": self.param,
            }
        }


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> HTTPError:
    return HTTPError(400, message, param=param, code=code)


def _retry_after(exc: RateLimited | ProviderPaused) -> list[tuple[bytes, bytes]]:
    if exc.retry_after is None or not math.isfinite(exc.retry_after):
        return []
    return [(b"retry-after", str(max(1, math.ceil(exc.retry_after))).encode())]


def _seconds_until(epoch: float) -> tuple[bytes, bytes]:
    return (b"retry-after", str(max(1, math.ceil(epoch - time.time()))).encode())


def _provider_error(exc: ProviderError) -> HTTPError:
    message = str(exc)
    if isinstance(exc, InternalError):  # ours, not the upstream's: a 5xx of our own
        return HTTPError(500, message, type="server_error", code="internal_error")
    if isinstance(exc, RateLimited):
        return HTTPError(
            429, message, type="rate_limit_error", code="rate_limited", headers=_retry_after(exc)
        )
    if isinstance(exc, AuthenticationError):
        return HTTPError(502, message, type="upstream_error", code="upstream_authentication")
    if isinstance(exc, ProviderTimeout):
        return HTTPError(504, message, type="timeout", code="upstream_timeout")
    if isinstance(exc, ProviderPaused):
        return HTTPError(
            503,
            message,
            type="service_unavailable",
            code="provider_paused",
            headers=_retry_after(exc),
        )
    if isinstance(exc, ProviderUnavailable):
        return HTTPError(503, message, type="service_unavailable", code="upstream_unavailable")
    if isinstance(exc, ContextTooLong):
        return HTTPError(400, message, code="context_length_exceeded")
    if isinstance(exc, BadRequest):
        return HTTPError(400, message, code="upstream_bad_request")
    if isinstance(exc, InvalidResponse):
        return HTTPError(502, message, type="upstream_error", code="upstream_invalid_response")
    return HTTPError(502, message, type="upstream_error", code="upstream_error")


def http_error(exc: BaseException) -> HTTPError:
    """The response for an exception raised while serving a request."""
    if isinstance(exc, HTTPError):
        return exc
    if isinstance(exc, ProviderError):
        return _provider_error(exc)
    if isinstance(exc, AllAttemptsFailed):
        causes = [http_error(e) for e in exc.errors]
        # all attempts failed the same way: answer like that way (e.g. all 429)
        if causes and len({c.status for c in causes}) == 1:
            first = causes[0]
            return HTTPError(
                first.status, str(exc), type=first.type, code=first.code, headers=first.headers
            )
        return HTTPError(502, str(exc), type="upstream_error", code="all_attempts_failed")
    if isinstance(exc, PatternTimeout):
        return HTTPError(504, str(exc), type="timeout", code="pattern_timeout")
    if isinstance(exc, BudgetExceeded):
        wait = [] if exc.resets_at is None else [_seconds_until(exc.resets_at)]
        return HTTPError(
            429, str(exc), type="insufficient_quota", code="budget_exceeded", headers=wait
        )
    if isinstance(exc, BudgetStoreUnavailable):
        return HTTPError(
            503,
            str(exc),
            type="service_unavailable",
            code="budget_store_unavailable",
            headers=[(b"retry-after", b"1")],
        )
    if isinstance(exc, RateLimitExceeded):
        seconds = str(max(1, math.ceil(exc.retry_after))).encode()
        return HTTPError(
            429,
            str(exc),
            type="rate_limit_error",
            code="rate_limit_exceeded",
            headers=[(b"retry-after", seconds)],
        )
    if isinstance(exc, UnpricedUnderBudget):
        return bad_request(str(exc), code="unpriced_model", param="model")
    if isinstance(exc, ValidationError):
        return bad_request(str(exc), param=exc.param)
    return HTTPError(500, "internal server error", type="server_error", code="internal_error")
