"""`LLM`: the handle a user holds. Each call becomes a message to the provider actor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, final

import trio

from .._call_rules import check_timeout
from .._kernel import ActorRef
from .._pricing import ModelFacts, PriceBook
from .._wire.openai_chat import estimate_prompt_tokens
from ..errors import ActorUnavailable, ProviderPaused, UnsupportedOperation
from ..types import (
    Chunk,
    Cost,
    EmbeddingRequest,
    EmbeddingResponse,
    GenerateResponse,
    Message,
    Request,
    RouteAttempt,
    Timings,
    Usage,
)
from ._accumulate import Accumulator
from ._adapter import Accepted, ProviderConfig
from ._calls import GenerateCall, Routed, StreamCall
from ._catalogue import PROVIDERS
from ._embed import EmbedCall, build_embedding_request
from ._prices import UNKNOWN_PRICE, price_of
from ._request import Prompt, build_request

# Chunks a provider actor may run ahead of its reader. A reader that takes
# them in bursts (`ResponseStream.receive_nowait`, as the gateway does) wakes
# once per burst, and the actor blocks less often: at 50 concurrent gateway
# streams, 32 spends about a tenth less CPU per request than 8. Still bounded:
# a slow reader holds its actor back after 32.
_STREAM_BUFFER = 32


def _check_timeout(timeout: float | None) -> None:
    check_timeout(timeout)


def _paused(error: ActorUnavailable, config: ProviderConfig) -> ProviderPaused:
    """The kernel's "actor parked" as the provider error callers catch (and the
    gateway answers 503 + Retry-After), naming the model that is paused."""
    last = f"{type(error.reason).__name__}: {error.reason}"
    if len(last) > 200:
        last = last[:200] + "…"
    return ProviderPaused(
        f"calls to this model kept crashing its provider actor (last: {last}); "
        f"it is paused and restarts in {error.retry_in:.1f}s",
        provider=config.provider,
        model=config.model,
        retry_after=error.retry_in,
    )


@final
class ResponseStream:
    """Chunks as they arrive: `async for chunk in stream`. After the end,
    `response()` is the whole answer (content, tool calls, usage, timings)."""

    def __init__(
        self,
        items: AsyncIterator[Any],
        config: ProviderConfig,
        request: Request,
        facts: ModelFacts = UNKNOWN_PRICE,
    ) -> None:
        self._items = items
        self._config = config
        self._facts = facts
        self._request = request
        self.request_id = request.request_id
        self._acc = Accumulator()
        self._start = trio.current_time()
        self._ttft: float | None = None
        self._end: float | None = None
        # the kernel's reader takes waiting replies without an await; another
        # iterator (a test's, a pattern's) has nothing to offer that way
        self._nowait: Callable[[], Any] | None = getattr(items, "receive_nowait", None)
        self._accepted = False
        self._held: Chunk | None = None  # the chunk `wait_accepted` read ahead
        # Set by a router's note: the deployment that answers, and the way there.
        self._served_by: tuple[str, str] | None = None
        self._route: tuple[RouteAttempt, ...] = ()

    def __aiter__(self) -> ResponseStream:
        return self

    async def __anext__(self) -> Chunk:
        if self._held is not None:
            chunk, self._held = self._held, None
            return chunk
        while True:
            try:
                item = await self._items.__anext__()
            except StopAsyncIteration:
                if self._end is None:
                    self._end = trio.current_time()
                raise
            except ActorUnavailable as exc:
                raise _paused(exc, self._config) from None
            if not self._marker(item):
                return self._took(item)

    def _marker(self, item: object) -> bool:
        """Keep what the provider (or a router) says about the call; True when
        `item` was such a note and not a chunk."""
        if isinstance(item, Accepted):
            self._accepted = True
            return True
        if isinstance(item, Routed):
            self._served_by = (item.provider, item.model)
            self._facts = item.facts
            self._route = item.route
            return True
        return False

    async def wait_accepted(self) -> None:
        """Return once the provider has taken the call on, before its first token
        where it can tell: a hosted API's response began (HTTP 200) — or else
        at the first chunk, or at the end of an empty stream. Raises the call's
        error if it failed first. Reads no chunk away: `async for` still sees
        every one. A gateway sends its response head here; a UI shows "connected".
        """
        while not (self._accepted or self._held is not None or self._end is not None):
            try:
                item = await self._items.__anext__()
            except StopAsyncIteration:
                self._end = trio.current_time()
                return
            except ActorUnavailable as exc:
                raise _paused(exc, self._config) from None
            if not self._marker(item):
                self._accepted = True
                self._held = self._took(item)

    def receive_nowait(self) -> Chunk:
        """The next chunk if it has already arrived; `trio.WouldBlock` otherwise.

        Never waits and never ends the stream: once the chunks have ended (or
        the call failed) this raises `trio.WouldBlock` and the next `async for`
        step reports the end or the error. Draining with this between awaits
        of `__anext__` sees every chunk once, in order, and is how a reader
        takes a burst of chunks with one task switch instead of one per chunk.
        """
        if self._held is not None:
            chunk, self._held = self._held, None
            return chunk
        if self._nowait is None:
            raise trio.WouldBlock
        item = self._nowait()
        while self._marker(item):
            item = self._nowait()
        return self._took(item)

    def _took(self, chunk: Chunk) -> Chunk:
        if self._ttft is None and (chunk.text or chunk.tool_calls):
            self._ttft = trio.current_time() - self._start
        self._acc.add(chunk)
        return chunk

    @property
    def text(self) -> str:
        """The text received so far."""
        return self._acc.text

    @property
    def finished(self) -> bool:
        """True once the final chunk (with finish_reason) arrived."""
        return self._acc.finished

    def response(self) -> GenerateResponse:
        """The answer so far, or in full once the stream has ended."""
        end = self._end if self._end is not None else trio.current_time()
        answer = self._acc.response(model=self._config.model)
        usage = answer.usage
        if not self._acc.has_usage:
            # Cut short (a cancel, an error): the prompt was sent and these
            # pieces were produced, so they count — estimated, never as free.
            usage = Usage(
                prompt_tokens=estimate_prompt_tokens(self._request),
                completion_tokens=self._acc.pieces,
                estimated=True,
            )
        provider, model = self._served_by or (self._config.provider, self._config.model)
        return GenerateResponse(
            content=answer.content,
            tool_calls=answer.tool_calls,
            finish_reason=answer.finish_reason,
            usage=usage,
            model=model,
            provider=provider,
            timings=Timings(ttft=self._ttft, total=end - self._start),
            request_id=self.request_id,
            logprobs=answer.logprobs,
            cost=self._facts.cost(usage, f"{provider}/{model}"),
            route=self._route,
        )

    def cost(self) -> Cost:
        """What the call has cost so far (in full once the stream has ended)."""
        cost = self.response().cost
        assert cost is not None  # response() always prices
        return cost

    @property
    def provider(self) -> str:
        return self._config.provider

    @property
    def model(self) -> str:
        return self._config.model


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
            raise _paused(exc, self.config) from None
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
            raise _paused(exc, self.config) from None
        return response
