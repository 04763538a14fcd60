"""`ResponseStream`: the chunks of one streamed call as they arrive, and the
whole answer (content, tool calls, usage, cost, timings, route) at its end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, final

import trio

from .._pricing import ModelFacts
from .._wire.openai_chat import estimate_prompt_tokens
from ..errors import ActorUnavailable, ProviderPaused
from ..types import Chunk, Cost, GenerateResponse, Request, RouteAttempt, Timings, Usage
from ._accumulate import Accumulator
from ._adapter import Accepted, ProviderConfig
from ._calls import Routed
from ._prices import UNKNOWN_PRICE


def paused(error: ActorUnavailable, config: ProviderConfig) -> ProviderPaused:
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
                raise paused(exc, self._config) from None
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
                raise paused(exc, self._config) from None
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

    def usage(self) -> Usage:
        """What the call used so far: the provider's count once it sent one;
        before that (a cancel, an error cut it short) an estimate — the
        prompt was sent and these pieces were produced, never free."""
        if self._acc.has_usage:
            return self._acc.usage
        return Usage(
            prompt_tokens=estimate_prompt_tokens(self._request),
            completion_tokens=self._acc.pieces,
            estimated=True,
        )

    def _served(self) -> tuple[str, str]:
        return self._served_by or (self._config.provider, self._config.model)

    def response(self) -> GenerateResponse:
        """The answer so far, or in full once the stream has ended."""
        end = self._end if self._end is not None else trio.current_time()
        answer = self._acc.response(model=self._config.model)
        provider, model = self._served()
        usage = self.usage()
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
        provider, model = self._served()
        return self._facts.cost(self.usage(), f"{provider}/{model}")

    @property
    def facts(self) -> ModelFacts:
        """The price of the model that answers (a router's deployment, once it said)."""
        return self._facts

    @property
    def provider(self) -> str:
        return self._config.provider

    @property
    def model(self) -> str:
        return self._config.model
