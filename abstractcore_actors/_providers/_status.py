"""HTTP status and headers, and transport failures -> our error types; shared by every adapter."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping

from .._redact import redact
from ..errors import (
    AuthenticationError,
    BadRequest,
    ContextTooLong,
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    UnsupportedOperation,
)
from ._adapter import ProviderConfig
from ._limits import LimitExceeded
from ._transport import TransportCutShort, TransportError, TransportLimit, TransportTimeout

_CONTEXT_HINTS = (
    "context_length",
    "context length",
    "too long",
    "maximum context",
    "prompt is too",
)


# Self-hosted servers often answer a request they cannot serve with a 5xx
# (llama.cpp: 500 for a json_schema it does not take, 501 for embeddings
# without --embeddings; older vLLM: 500 for a ValueError; Ollama: 500
# "cannot unmarshal"; TGI: "Input validation error"; LM Studio: "Invalid ...").
# Retrying such an answer cannot help, and counting it in the breaker would
# lock every other tenant out of a healthy server, so these are bad requests.
_UNSUPPORTED = re.compile(
    r"not[ _]supported|unsupported|does not support|doesn't support|not implemented",
    re.IGNORECASE,
)
_REQUEST_FAULT = re.compile(
    r"invalid_request|BadRequestError|\bvalidation\b|"
    r"unknown (?:param|parameter|field|argument|option|model)|"
    r"unrecognized (?:request )?(?:argument|parameter|field|option)|"
    r"extra (?:inputs|fields) (?:are|is) not permitted|"
    r"failed to parse|parse error|cannot unmarshal|"
    r"invalid (?:json|schema|grammar|request|param|parameter|argument|value|type|format)|"
    r"json_schema|response_format|is required|missing required|must be (?:a|an|one of|between)",
    re.IGNORECASE,
)
_REQUEST_FAULT_ADVICE = (
    "the server cannot serve this request as sent (it blames the request, though with a "
    "5xx status): change or drop what its message names; not retried"
)


def request_caused(status: int, code: str, detail: str) -> type[BadRequest] | None:
    """For a 5xx answer: the error type when its body says the request is at fault."""
    text = f"{code} {detail}"
    if status == 501 or _UNSUPPORTED.search(text):
        return UnsupportedOperation
    if _REQUEST_FAULT.search(text):
        return BadRequest
    return None


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait, from `retry-after-ms`, `retry-after` (seconds or HTTP date)."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def provider_error(kind: type[ProviderError], detail: str, config: ProviderConfig) -> ProviderError:
    """An error of `kind` for this provider, its detail redacted."""
    return kind(redact(detail, config.secrets), provider=config.provider, model=config.model)


def transport_error(exc: TransportError, config: ProviderConfig, where: str) -> ProviderError:
    """The error for a failure of the HTTP exchange with `where` (a URL, or
    "" when the message says enough): a broken limit, a timeout, a response
    that is not well-formed (or cut short), or an unreachable server."""
    if isinstance(exc, TransportLimit):
        return LimitExceeded(
            redact(str(exc), config.secrets),
            provider=config.provider,
            model=config.model,
            limit=exc.limit,
        )
    at = f" ({where})" if where else ""
    if isinstance(exc, TransportTimeout):
        return provider_error(ProviderTimeout, f"{exc}{at}", config)
    if isinstance(exc, TransportCutShort):
        return provider_error(InvalidResponse, f"the response was cut short ({exc})", config)
    return provider_error(
        ProviderUnavailable, f"cannot reach {where or 'the server'} ({exc})", config
    )


def error_from_status(
    status: int,
    detail: str,
    config: ProviderConfig,
    *,
    code: str = "",
    headers: Mapping[str, str] | None = None,
) -> ProviderError:
    """The error for an HTTP error response; `detail` is redacted here."""
    detail = redact(detail, config.secrets) or f"HTTP {status}"
    if status == 429:
        return RateLimited(
            detail,
            provider=config.provider,
            model=config.model,
            status_code=status,
            retry_after=parse_retry_after(headers),
        )
    kind: type[ProviderError] = BadRequest
    advice = None
    context = any(hint in f"{code} {detail}".lower() for hint in _CONTEXT_HINTS)
    if status in (401, 403):
        kind = AuthenticationError
    elif status == 408:
        kind = ProviderTimeout
    elif status >= 500:
        blamed = ContextTooLong if context else request_caused(status, code, detail)
        kind = blamed or ProviderUnavailable
        advice = _REQUEST_FAULT_ADVICE if blamed else None
    elif context:
        kind = ContextTooLong
    return kind(
        detail, provider=config.provider, model=config.model, status_code=status, advice=advice
    )


def _http_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(transport errors, timeout errors) that the SDKs may let through mid-stream:
    httpx's, and httpx2's (the SDKs' current majors ride on httpx2, httpx's
    successor package; older majors use httpx itself)."""
    import httpx

    transport: list[type[Exception]] = [httpx.TransportError]
    timeout: list[type[Exception]] = [httpx.TimeoutException]
    try:
        import httpx2
    except ImportError:
        pass
    else:
        transport.append(httpx2.TransportError)
        timeout.append(httpx2.TimeoutException)
    return tuple(transport), tuple(timeout)


TRANSPORT_ERRORS, TIMEOUT_ERRORS = _http_errors()


def is_cut_short(exc: BaseException) -> bool:
    """An HTTP-level protocol error: the peer closed before the body was complete.

    httpx (and httpx2) raise RemoteProtocolError for it; a reset socket is a
    ReadError instead. Looks through the SDKs' wrapping (`__cause__`).
    """
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "RemoteProtocolError":
            return True
        seen = seen.__cause__
    return False


def preset_sdk_platform(client: object, base_client_module: str) -> None:
    """Fill the SDK client's platform-header cache now.

    The openai and anthropic SDKs compute `X-Stainless-*` platform headers in
    a worker thread on their first request. Doing it once here, when the
    provider actor starts, keeps every request free of a thread hop (and
    deterministic under trio's MockClock, which would jump past deadlines
    while that thread runs). If the SDK changes this private detail, we
    simply leave it to the SDK.
    """
    import importlib

    try:
        get_platform = importlib.import_module(base_client_module).get_platform
        if getattr(client, "_platform", "missing") is None:
            client._platform = get_platform()  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        pass
