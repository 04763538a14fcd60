"""Adapter for Anthropic's Messages API through the official SDK (`AsyncAnthropic`).

Anthropic differs from the chat-completions shape in ways that matter here:
the system prompt is a top-level field; roles must alternate, so consecutive
turns of one role are merged; tool results travel as `tool_result` blocks in
a user turn; `max_tokens` is required; and a stream is a sequence of typed
events that we fold into our chunks, the last carrying finish reason + usage.

How the SDK (2.x, on httpx2) fails, as measured against the fake server:
an HTTP error status is an `APIStatusError`; an `event: error` inside a 200
stream is an `APIStatusError` with `status_code == 200` (its type is in the
body); a reset or a read timeout comes wrapped (`APIConnectionError` /
`APITimeoutError`) before the response, and while a stream is read it is the
raw `httpx2.ReadError` / `httpx2.ReadTimeout` up to SDK 2.16 but wrapped from
2.17 on (`_map` takes every one of these shapes); bad JSON is a
bare `json.JSONDecodeError`; and a stream that ends cleanly without
`message_stop` simply stops iterating, so we check for the end marker.
Its HTTP client carries our response guard (`_httpx_guard.py`): every
answer is read within the model's `Limits` before the SDK parses it, and
what the guard raises reaches `_map` raw or as an SDK error's cause.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anthropic
import trio

from .._wire.anthropic_messages import messages_to_wire, response_from_wire
from .._wire.anthropic_messages_stream import Fold
from ..errors import (
    ConfigurationError,
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    UnsupportedOperation,
)
from ..types import (
    Chunk,
    EmbeddingRequest,
    EmbeddingResponse,
    GenerateResponse,
    Request,
)
from ._adapter import ACCEPTED, Accepted, ProviderConfig
from ._httpx_guard import GUARD_ERRORS, ResponseGuard, guard_failure, sdk_call_seconds
from ._status import (
    TIMEOUT_ERRORS,
    TRANSPORT_ERRORS,
    error_from_status,
    is_cut_short,
    preset_sdk_platform,
    provider_error,
)

_SDK_ERRORS: tuple[type[Exception], ...] = (
    anthropic.AnthropicError,
    ValueError,
    *TRANSPORT_ERRORS,
    *GUARD_ERRORS,
)
# An `error` event inside a 200 stream carries only its type: the status it stands for.
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
_TOOL_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}
_AUTH_HEADERS = ("x-api-key", "authorization")


class AnthropicAdapter:
    """messages.create through AsyncAnthropic; see `Adapter` for the contract."""

    def __init__(self, config: ProviderConfig) -> None:
        # Left without a key, the SDK would read ANTHROPIC_API_KEY from the
        # process environment (state we do not own), and failing that raise a
        # bare TypeError at the first request; fail here, clearly, instead.
        headers = {name.lower() for name in config.headers}
        if not config.api_key and not headers.intersection(_AUTH_HEADERS):
            raise ConfigurationError(
                "anthropic needs an API key: pass api_key= (or set ANTHROPIC_API_KEY "
                "for create_llm), or an x-api-key / authorization header"
            )
        self.config = config
        guard = ResponseGuard(config.limits, config.read_timeout)
        self._client = anthropic.AsyncAnthropic(
            api_key=config.api_key,
            base_url=config.base_url,
            max_retries=0,  # the provider actor retries, once, for every provider
            timeout=anthropic.Timeout(config.read_timeout, connect=config.connect_timeout),
            default_headers=dict(config.headers) or None,
            # the SDK's own client class (its defaults), with our guard
            http_client=anthropic.DefaultAsyncHttpxClient(**guard.client_options()),
        )
        self._whole_seconds = sdk_call_seconds(config, whole=True)
        self._head_seconds = sdk_call_seconds(config, whole=False)
        preset_sdk_platform(self._client, "anthropic._base_client")

    def __repr__(self) -> str:
        return f"<AnthropicAdapter {self.config.model}>"

    async def aclose(self) -> None:
        """Close the SDK client and its connection pool."""
        await self._client.close()

    def _params(self, request: Request) -> dict[str, Any]:
        system, turns = messages_to_wire(request.messages)
        max_tokens = request.max_tokens
        if max_tokens is None:  # 0 is meaningful to Anthropic (warm the prompt cache)
            max_tokens = int(self.config.options.get("max_tokens", 1024))
        params: dict[str, Any] = {
            "model": self.config.model,
            "messages": turns,
            "max_tokens": max_tokens,
        }
        if system:
            params["system"] = system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
            if request.tool_choice:
                params["tool_choice"] = _TOOL_CHOICE.get(
                    request.tool_choice, {"type": "tool", "name": request.tool_choice}
                )
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        # Recent SDK majors dropped sampling parameters from `create`'s
        # signature; the wire protocol still takes them, so they go in the body.
        # The SDK merges extra_body over everything else: `extra` wins.
        body: dict[str, Any] = {}
        if request.temperature is not None:
            body["temperature"] = min(request.temperature, 1.0)  # Anthropic's range is 0-1
        if request.top_p is not None:
            body["top_p"] = request.top_p
        body.update(request.extra)
        if body:
            params["extra_body"] = body
        return params

    def _fail(self, kind: type[ProviderError], detail: str) -> ProviderError:
        return provider_error(kind, detail, self.config)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Always UnsupportedOperation: Anthropic offers no embeddings API."""
        raise self._fail(
            UnsupportedOperation,
            "Anthropic has no embeddings API; embed with an OpenAI or OpenAI-compatible "
            "provider (e.g. create_llm('ollama', 'nomic-embed-text')) or the local model "
            "(create_llm('local'))",
        )

    def _timed_out(self, seconds: float) -> ProviderError:
        return self._fail(
            ProviderTimeout,
            f"no answer within {seconds:g}s (connect_timeout + read_timeout, "
            "+ body_timeout for a whole answer)",
        )

    def _map(self, exc: BaseException) -> ProviderError:
        guarded = guard_failure(exc, self.config)
        if guarded is not None:
            return guarded
        if isinstance(exc, anthropic.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            found = body.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            status = exc.status_code
            if status < 400:  # an error event mid-stream, on a 200 response
                status = _ERROR_STATUS.get(str(error.get("type")), 500)
            return error_from_status(
                status,
                str(error.get("message") or exc.message),
                self.config,
                code=str(error.get("type") or ""),
                headers=exc.response.headers,
            )
        # Mid-stream, httpx2's ReadTimeout escapes the SDK unwrapped.
        if isinstance(exc, (anthropic.APITimeoutError, *TIMEOUT_ERRORS)):
            cause = exc.__cause__ or exc
            limits = f"read_timeout={self.config.read_timeout:g}s"
            return self._fail(ProviderTimeout, f"timed out ({type(cause).__name__}, {limits})")
        if is_cut_short(exc):
            return self._fail(
                InvalidResponse, f"the response was cut short ({exc.__cause__ or exc})"
            )
        if isinstance(exc, anthropic.APIConnectionError):
            cause = exc.__cause__ or exc
            return self._fail(
                ProviderUnavailable, f"connection failed ({type(cause).__name__}: {cause})"
            )
        if isinstance(exc, anthropic.APIResponseValidationError | ValueError):
            return self._fail(InvalidResponse, f"malformed answer ({exc})")
        if isinstance(exc, anthropic.APIError):
            return self._fail(ProviderUnavailable, f"error from the SDK: {exc}")
        # A transport error mid-stream (a reset socket: httpx2.ReadError).
        return self._fail(
            ProviderUnavailable, f"the connection broke ({type(exc).__name__}: {exc or 'reset'})"
        )

    async def generate(self, request: Request) -> GenerateResponse:
        """One complete answer; raises only ProviderError subclasses."""
        params = self._params(request)
        try:
            with trio.move_on_after(self._whole_seconds) as scope:
                message = await self._client.messages.create(**params)
        except _SDK_ERRORS as exc:
            raise self._map(exc) from exc
        if scope.cancelled_caught:
            raise self._timed_out(self._whole_seconds)
        try:
            return response_from_wire(message)
        except (AttributeError, TypeError) as exc:
            raise self._fail(InvalidResponse, f"malformed message ({exc})") from exc

    async def stream(self, request: Request) -> AsyncGenerator[Chunk | Accepted, None]:
        """Chunks as the events arrive; the last has finish_reason and usage.

        Raises InvalidResponse if the stream ends without `message_stop`.
        Closing the generator early (aclose, cancellation) closes the HTTP
        response, and so the connection, before it returns.
        """
        params = self._params(request)
        try:
            with trio.move_on_after(self._head_seconds) as scope:
                upstream = await self._client.messages.create(**params, stream=True)
        except _SDK_ERRORS as exc:
            raise self._map(exc) from exc
        if scope.cancelled_caught:
            raise self._timed_out(self._head_seconds)
        fold = Fold()
        try:
            yield ACCEPTED
            while not fold.finished:
                try:
                    # `anext` on the stream itself, not `async for`: that would
                    # wrap it in one more async generator left to the GC.
                    event = await anext(upstream)
                except StopAsyncIteration:
                    raise self._fail(
                        InvalidResponse, "the stream ended before message_stop"
                    ) from None
                except _SDK_ERRORS as exc:
                    raise self._map(exc) from exc
                try:
                    chunk = fold.chunk(event)
                except (AttributeError, TypeError) as exc:
                    kind = getattr(event, "type", "?")
                    raise self._fail(InvalidResponse, f"malformed {kind} event ({exc})") from exc
                if chunk is not None:
                    yield chunk
        finally:
            # No yield inside this: closing must finish even on GeneratorExit;
            # httpx2/httpcore2 shield the socket close from cancellation.
            await upstream.close()
