"""`LLM`: the handle a user holds. Each call becomes a message to the provider actor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, final

from .._call_rules import check_timeout
from .._kernel import ActorRef
from .._pricing import ModelFacts, PriceBook
from ..errors import ActorUnavailable, UnsupportedOperation
from ..types import (
    Cost,
    EmbeddingRequest,
    EmbeddingResponse,
    GenerateResponse,
    Message,
    Request,
    Usage,
)
from ._adapter import ProviderConfig
from ._calls import GenerateCall, StreamCall
from ._catalogue import PROVIDERS
from ._embed import EmbedCall, build_embedding_request
from ._prices import price_of
from ._request import Prompt, build_request
from ._response_stream import ResponseStream, paused

# Chunks a provider actor may run ahead of its reader. A reader that takes
# them in bursts (`ResponseStream.receive_nowait`, as the gateway does) wakes
# once per burst, and the actor blocks less often: at 50 concurrent gateway
# streams, 32 spends about a tenth less CPU per request than 8. Still bounded:
# a slow reader holds its actor back after 32.
_STREAM_BUFFER = 32


def _check_timeout(timeout: float | None) -> None:
    check_timeout(timeout)


@final
class LLM:
    """A provider/model served by a supervised provider actor.

    Made by `Runtime.create_llm`. Safe to share between tasks: every call is
    a message, and the actor applies the provider's concurrency limit,
    retries and circuit breaker to all callers together.
    """

    def __init__(
        self, ref: ActorRef, config: ProviderConfig, prices: PriceBook | None = None
    ) -> None:
        self._ref = ref
        self.config = config
        self._prices = prices

    def __repr__(self) -> str:
        return f"<LLM {self.provider}/{self.model} actor={self._ref.name!r}>"

    @property
    def provider(self) -> str:
        return self.config.provider

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def actor(self) -> ActorRef:
        """The provider actor behind this handle."""
        return self._ref

    @property
    def facts(self) -> ModelFacts:
        """This model's price and context window, as the runtime's price book
        knows them (`price` None: unknown; see docs/routing.md)."""
        return price_of(self._prices, self.config)

    def cost(self, usage: Usage) -> Cost:
        """What `usage` costs on this model; `Cost.usd` is None when its price is unknown."""
        return self.facts.cost(usage, f"{self.provider}/{self.model}")

    def request(
        self,
        prompt: Prompt = None,
        *,
        messages: Sequence[Message | Mapping[str, Any]] | None = None,
        system_prompt: str | None = None,
        tools: Sequence[object] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        session_id: str | None = None,
        request_id: str | None = None,
        **extra: Any,
    ) -> Request:
        """The validated `Request` a call with these arguments would send, with
        this LLM's defaults (from `create_llm`) where the call gives none.
        Send it with `generate_request` / `stream_request`."""
        defaults = self.config.options
        if extra.get("logprobs") or extra.get("top_logprobs") is not None:
            self._check_logprobs()
        return build_request(
            prompt,
            messages=messages,
            system_prompt=system_prompt,
            tools=tools,
            temperature=defaults.get("temperature") if temperature is None else temperature,
            max_tokens=defaults.get("max_tokens") if max_tokens is None else max_tokens,
            top_p=defaults.get("top_p") if top_p is None else top_p,
            stop=stop,
            seed=defaults.get("seed") if seed is None else seed,
            tool_choice=tool_choice,
            extra=extra,
            session_id=session_id,
            request_id=request_id,
        )

    def _check_logprobs(self) -> None:
        # Anthropic's Messages API has no logprobs, and the local adapter does
        # not read them: refused, rather than a 200 that silently lacks them.
        entry = PROVIDERS.get(self.provider)  # a router's deployments decide for themselves
        if entry is not None and entry.adapter in ("anthropic", "local"):
            raise UnsupportedOperation(
                "logprobs are not available from this provider",
                provider=self.provider,
                model=self.model,
                advice="drop logprobs=/top_logprobs=, or ask an OpenAI or "
                "OpenAI-compatible model (which return them where the server does)",
            )

    async def generate_request(
        self, request: Request, *, timeout: float | None = None
    ) -> GenerateResponse:
        """Send a prepared `Request` (see `request`); otherwise like `generate`."""
        _check_timeout(timeout)
        try:
            response: GenerateResponse = await self._ref.ask(
                GenerateCall(request=request, timeout=timeout)
            )
        except ActorUnavailable as exc:
            raise paused(exc, self.config) from None
        return response

    @asynccontextmanager
    async def stream_request(
        self, request: Request, *, timeout: float | None = None
    ) -> AsyncIterator[ResponseStream]:
        """Stream a prepared `Request` (see `request`); otherwise like `stream`."""
        _check_timeout(timeout)
        # Some chunks of slack between actor and caller: fewer task switches
        # per chunk, and still backpressure (the actor waits when it is full).
        call = StreamCall(request=request, timeout=timeout)
        async with self._ref.stream(call, buffer=_STREAM_BUFFER) as items:
            yield ResponseStream(items, self.config, request, self.facts)

    async def generate(
        self,
        prompt: Prompt = None,
        *,
        messages: Sequence[Message | Mapping[str, Any]] | None = None,
        system_prompt: str | None = None,
        tools: Sequence[object] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **extra: Any,
    ) -> GenerateResponse:
        """One complete answer.

        `timeout` bounds the whole call, retries included (default: the
        provider's `timeout`). Raises ValidationError for bad arguments and a
        ProviderError subclass when the provider fails. On cancel (any cancel
        scope around the call) the upstream request is cancelled and its
        connection closed before this returns.
        """
        request = self.request(
            prompt,
            messages=messages,
            system_prompt=system_prompt,
            tools=tools,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            seed=seed,
            tool_choice=tool_choice,
            **extra,
        )
        return await self.generate_request(request, timeout=timeout)

    @asynccontextmanager
    async def stream(
        self,
        prompt: Prompt = None,
        *,
        messages: Sequence[Message | Mapping[str, Any]] | None = None,
        system_prompt: str | None = None,
        tools: Sequence[object] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        timeout: float | None = None,
        **extra: Any,
    ) -> AsyncIterator[ResponseStream]:
        """Stream an answer: `async with llm.stream("Hi") as s: async for chunk in s:`.

        Leaving the block — early, by break, by an exception or a cancel —
        cancels the upstream call and closes its connection before the block
        exits. Errors before the first token may be retried by the provider
        actor; after it, they are raised from the `async for`.
        """
        request = self.request(
            prompt,
            messages=messages,
            system_prompt=system_prompt,
            tools=tools,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            seed=seed,
            tool_choice=tool_choice,
            **extra,
        )
        async with self.stream_request(request, timeout=timeout) as stream:
            yield stream

    async def embed(
        self,
        texts: str | Sequence[str],
        *,
        dimensions: int | None = None,
        timeout: float | None = None,
    ) -> EmbeddingResponse:
        """One vector per text, in input order (a single string gives one vector).

        `dimensions` asks for shorter vectors where the model supports it
        (OpenAI's text-embedding-3 models). `timeout` bounds the whole call,
        retries included, like `generate`. Raises ValidationError for bad
        input (no texts, an empty or non-string text, more than 2048 texts),
        UnsupportedOperation when the provider has no embeddings (Anthropic),
        and other ProviderError subclasses when the provider fails. On cancel
        the upstream request is cancelled and its connection closed before
        this returns.
        """
        request = build_embedding_request(texts, dimensions=dimensions)
        return await self.embed_request(request, timeout=timeout)

    async def embed_request(
        self, request: EmbeddingRequest, *, timeout: float | None = None
    ) -> EmbeddingResponse:
        """Send a prepared `EmbeddingRequest`; otherwise like `embed`."""
        _check_timeout(timeout)
        try:
            response: EmbeddingResponse = await self._ref.ask(
                EmbedCall(request=request, timeout=timeout)
            )
        except ActorUnavailable as exc:
            raise paused(exc, self.config) from None
        return response
