"""Adapter for OpenAI through the official SDK (`openai.AsyncOpenAI`).

The SDK does transport, auth and its own error classes; we turn off its
retries (the provider actor retries, once, for every provider) and map its
errors and chunk objects to ours here. Its HTTP client carries our response
guard (`_httpx_guard.py`), so every answer is read within the model's
`Limits` before the SDK parses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import trio

from .._wire import openai_chat as wire
from .._wire import openai_chat_stream as wire_stream
from ..errors import InvalidResponse, ProviderError, ProviderTimeout, ProviderUnavailable
from ..types import (
    Chunk,
    EmbeddingRequest,
    EmbeddingResponse,
    GenerateResponse,
    Request,
    TokenLogprob,
    ToolCallDelta,
    Usage,
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

# Everything the SDK may raise that we map (transport errors can escape mid-stream).
_SDK_ERRORS: tuple[type[Exception], ...] = (
    openai.OpenAIError,
    ValueError,
    *TRANSPORT_ERRORS,
    *GUARD_ERRORS,
)


class OpenAIAdapter:
    """chat.completions through AsyncOpenAI."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        guard = ResponseGuard(config.limits, config.read_timeout)
        self._client = openai.AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            max_retries=0,
            timeout=openai.Timeout(config.read_timeout, connect=config.connect_timeout),
            default_headers=dict(config.headers) or None,
            # the SDK's own client class (its defaults), with our guard
            http_client=openai.DefaultAsyncHttpxClient(**guard.client_options()),
        )
        self._whole_seconds = sdk_call_seconds(config, whole=True)
        self._head_seconds = sdk_call_seconds(config, whole=False)
        preset_sdk_platform(self._client, "openai._base_client")

    def __repr__(self) -> str:
        return f"<OpenAIAdapter {self.config.model}>"

    async def aclose(self) -> None:
        await self._client.close()

    def _params(self, request: Request, *, stream: bool) -> dict[str, Any]:
        body = wire.request_body(request, self.config.model, stream=stream)
        # The SDK takes unknown parameters only through extra_body.
        extra = {k: body.pop(k) for k in list(request.extra)}
        if extra:
            body["extra_body"] = extra
        return body

    def _fail(self, kind: type[ProviderError], detail: str) -> ProviderError:
        return provider_error(kind, detail, self.config)

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
        if isinstance(exc, openai.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            # The upstream's own words: the SDK's `message` is "Error code: N -
            # <the whole body as a dict>" in SDK 2.0 and "Error code: N - <message>"
            # in later releases.
            return error_from_status(
                exc.status_code,
                str(body.get("message") or exc.message),
                self.config,
                code=str(body.get("code") or getattr(exc, "code", "") or ""),
                headers=exc.response.headers,
            )
        # Mid-stream, older SDKs let the transport's ReadTimeout out unwrapped.
        if isinstance(exc, (openai.APITimeoutError, *TIMEOUT_ERRORS)):
            return self._fail(ProviderTimeout, "the request timed out")
        if is_cut_short(exc):
            return self._fail(
                InvalidResponse, f"the response was cut short ({exc.__cause__ or exc})"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return self._fail(
                ProviderUnavailable, f"connection failed ({type(cause).__name__}: {cause})"
            )
        if isinstance(exc, openai.APIResponseValidationError | ValueError):
            return self._fail(InvalidResponse, f"malformed answer ({exc})")
        if isinstance(exc, openai.APIError):  # e.g. an error event inside a stream
            return self._fail(ProviderUnavailable, f"error mid-stream: {exc}")
        return self._fail(
            ProviderUnavailable, f"the connection broke ({type(exc).__name__}: {exc or 'reset'})"
        )

    async def generate(self, request: Request) -> GenerateResponse:
        try:
            with trio.move_on_after(self._whole_seconds):
                completion = await self._client.chat.completions.create(
                    **self._params(request, stream=False)
                )
                return self._response(completion.model_dump())
        except _SDK_ERRORS as exc:
            raise self._map(exc) from exc
        raise self._timed_out(self._whole_seconds)

    def _response(self, data: Any) -> GenerateResponse:
        try:
            return wire.response_from_wire(data)
        except (KeyError, TypeError, IndexError) as exc:
            raise self._map(ValueError(f"not a chat.completion object: {exc!r}")) from exc

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """POST /embeddings. Without `encoding_format` the SDK asks for base64
        (a quarter of the bytes) and decodes it to floats itself."""
        extra: dict[str, Any] = {}
        if request.dimensions is not None:
            extra["dimensions"] = request.dimensions
        try:
            with trio.move_on_after(self._whole_seconds) as scope:
                result = await self._client.embeddings.create(
                    model=self.config.model, input=request.inputs, **extra
                )
            if scope.cancelled_caught:
                raise self._timed_out(self._whole_seconds)
            ordered = sorted(result.data, key=lambda item: item.index)
            if [item.index for item in ordered] != list(range(len(request))):
                raise ValueError(f"expected {len(request)} embeddings, got {len(ordered)}")
            vectors = tuple(tuple(float(x) for x in item.embedding) for item in ordered)
        except _SDK_ERRORS as exc:
            raise self._map(exc) from exc
        except (TypeError, AttributeError) as exc:
            raise self._map(ValueError(f"not an embeddings list object: {exc!r}")) from exc
        usage = Usage(prompt_tokens=result.usage.prompt_tokens if result.usage else 0)
        return EmbeddingResponse(vectors=vectors, model=result.model or "", usage=usage)

    async def stream(self, request: Request) -> AsyncIterator[Chunk | Accepted]:
        try:
            with trio.move_on_after(self._head_seconds) as scope:
                upstream = await self._client.chat.completions.create(
                    **self._params(request, stream=True)
                )
        except _SDK_ERRORS as exc:
            raise self._map(exc) from exc
        if scope.cancelled_caught:
            raise self._timed_out(self._head_seconds)
        try:
            yield ACCEPTED
            final = wire_stream.FinalChunk(wire.estimate_prompt_tokens(request))
            events = upstream.__aiter__()
            while True:
                try:
                    event = await events.__anext__()
                except StopAsyncIteration:
                    break
                except _SDK_ERRORS as exc:
                    raise self._map(exc) from exc
                chunk = _chunk_from_sdk(event)
                if chunk is None:
                    continue
                for ready in final.feed(chunk):
                    yield ready
            if not final.finished:
                raise self._fail(InvalidResponse, wire.CUT_SHORT)
            for ready in final.flush():
                yield ready
        finally:
            await upstream.close()


def _chunk_from_sdk(event: Any) -> Chunk | None:
    """A ChatCompletionChunk -> Chunk, by attribute (no model_dump per chunk)."""
    usage = None
    if getattr(event, "usage", None) is not None:  # once per stream: decoded by the codec
        usage = wire.usage_from_wire(event.usage.model_dump())
    if not event.choices:
        return Chunk(usage=usage) if usage else None
    choice = event.choices[0]
    delta = choice.delta
    text = (delta.content or "") if delta is not None else ""
    calls: tuple[ToolCallDelta, ...] = ()
    if delta is not None and delta.tool_calls:
        calls = tuple(
            ToolCallDelta(
                index=tc.index,
                id=tc.id,
                name=tc.function.name if tc.function else None,
                arguments=(tc.function.arguments or "") if tc.function else "",
            )
            for tc in delta.tool_calls
        )
    logprobs: tuple[TokenLogprob, ...] = ()
    if getattr(choice, "logprobs", None) is not None and choice.logprobs.content:
        logprobs = wire.logprobs_from_wire(choice.model_dump())  # rare: asked for
    if not (text or calls or logprobs) and choice.finish_reason is None and usage is None:
        return None
    return Chunk(
        text=text,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
        usage=usage,
        logprobs=logprobs,
    )


__all__ = ["OpenAIAdapter"]
