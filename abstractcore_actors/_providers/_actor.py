"""The provider actor: one per configured provider/model, wrapping its adapter.

Messages (one frozen class per protocol step, dispatched with `match`):
- `GenerateCall` (ask)    → GenerateResponse
- `StreamCall`   (stream) → Chunk, Chunk, …, final Chunk
- `EmbedCall`    (ask)    → EmbeddingResponse (see _embed.py)

Around the adapter, the same for every provider: a concurrency limit (a
`trio.CapacityLimiter`), retries with backoff (only before the first streamed
token), a circuit breaker shared by every caller, an overall deadline per
call, and timings. Provider errors are replies to the caller, never crashes.

Crash containment: whatever an adapter raises while it encodes, sends, reads
or decodes one call (a bug of ours or of an SDK) fails that call alone, as
`InternalError` (logged with its traceback, redacted). It is not retried, the
breaker does not count it, and the actor serves the other calls on; a crash,
and the supervisor's restarts, are kept for the actor's own state.
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import trio

from .._kernel import ActorContext, Behaviour, StreamSink
from .._pricing import PriceBook
from ..errors import (
    CircuitOpen,
    InternalError,
    ProviderError,
    ProviderTimeout,
    UnhandledMessage,
    ValidationError,
)
from ..events import (
    CallCancelled,
    Emitter,
    ErrorOccurred,
    EventBus,
    GenerationCompleted,
    GenerationStarted,
    RetryAttempted,
    RetryExhausted,
)
from ..types import (
    Cost,
    EmbeddingRequest,
    EmbeddingResponse,
    GenerateResponse,
    Request,
    Timings,
    Usage,
)
from ._adapter import Adapter, Embedder, ProviderConfig
from ._calls import GenerateCall, ProviderPolicy, StreamCall
from ._embed import EmbedCall, serve_embed
from ._embed_batch import EmbedBatcher
from ._internal import internal_error
from ._prices import price_of
from ._resilience import CircuitBreaker, FreeSlot
from ._stream_attempt import StreamTally, stream_once

T = TypeVar("T")


class ProviderActor(Behaviour):
    """Serves GenerateCall / StreamCall for one adapter."""

    reply_errors = (ProviderError, ValidationError)

    def __init__(
        self,
        config: ProviderConfig,
        policy: ProviderPolicy,
        make_adapter: Callable[[ProviderConfig], Adapter],
        bus: EventBus | None = None,
        prices: PriceBook | None = None,
    ) -> None:
        self.config = config
        self._prices = prices
        self.bus = bus
        self.policy = policy
        self._make_adapter = make_adapter
        self._adapter: Adapter | None = None
        self.limiter = trio.CapacityLimiter(policy.max_concurrent)
        self.breaker = CircuitBreaker(
            failure_threshold=policy.failure_threshold, reset_after=policy.reset_after
        )
        self._rng = random.Random(policy.retry_seed)
        self.batcher: EmbedBatcher | None = None
        self.embedder: Embedder | None = None

    async def started(self, ctx: ActorContext) -> None:
        if self.bus is None:
            self.bus = EventBus(ctx.system)  # a bus of its own, that nobody follows
        self._adapter = self._make_adapter(self.config)
        # once: isinstance against a runtime Protocol walks its members (~20 µs)
        self.embedder = self._adapter if isinstance(self._adapter, Embedder) else None
        self.batcher = None
        if self.embedder is not None and self.policy.embed_batching is not None:
            self.batcher = EmbedBatcher(self.policy.embed_batching, self._send_batch)
            ctx.start_soon(self.batcher.run)

    async def _send_batch(self, request: EmbeddingRequest, deadline: float) -> EmbeddingResponse:
        """One gathered batch upstream, under the actor's policies."""
        adapter = self.embedder
        assert adapter is not None
        events = self.emitter(request.request_id)
        return await self.attempts(lambda: adapter.embed(request), deadline, events)

    async def stopped(self, ctx: ActorContext) -> None:
        if self._adapter is not None:
            await self._adapter.aclose()

    @property
    def adapter(self) -> Adapter:
        assert self._adapter is not None, "the provider actor has not started"
        return self._adapter

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        match message:
            case GenerateCall(request=request, timeout=timeout):
                events = self.emitter(request.request_id, request.session_id)
                await events.emit(GenerationStarted, stream=False)
                try:
                    response = await self._generate(request, self.deadline(timeout), events)
                except BaseException as exc:
                    self.report_failure(events, exc)
                    raise
                await events.emit(
                    GenerationCompleted,
                    finish_reason=response.finish_reason,
                    prompt_tokens=response.usage.prompt_tokens,
                    completion_tokens=response.usage.completion_tokens,
                    ttft=response.timings.ttft,
                    duration=response.timings.total,
                    cost_usd=response.cost.usd if response.cost else None,
                )
                return response
            case EmbedCall():
                return await serve_embed(self, message)
            case _:
                raise UnhandledMessage(ctx.name, message)

    async def stream_into(self, message: object, ctx: ActorContext, sink: StreamSink) -> None:
        match message:
            case StreamCall(request=request, timeout=timeout):
                events = self.emitter(request.request_id, request.session_id)
                tally = StreamTally(start=trio.current_time())
                await events.emit(GenerationStarted, stream=True)
                try:
                    await self._stream(request, self.deadline(timeout), sink, events, tally)
                except BaseException as exc:
                    self.report_failure(events, exc)
                    raise
                usage = tally.usage or Usage()
                await events.emit(
                    GenerationCompleted,
                    finish_reason=tally.finish_reason,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    ttft=tally.ttft,
                    duration=trio.current_time() - tally.start,
                    cost_usd=self.cost(usage).usd,
                )
            case _:
                raise UnhandledMessage(ctx.name, message, how="stream")

    # -- policies --------------------------------------------------------

    def cost(self, usage: Usage) -> Cost:
        """What `usage` cost on this model (unknown without a price book or a price)."""
        return price_of(self._prices, self.config).cost(
            usage, f"{self.config.provider}/{self.config.model}"
        )

    def emitter(self, request_id: str, session_id: str | None = None) -> Emitter:
        """The events of one call, tagged with this provider and model."""
        assert self.bus is not None, "the provider actor has not started"
        return self.bus.emitter(
            request_id,
            session_id=session_id,
            provider=self.config.provider,
            model=self.config.model,
        )

    @staticmethod
    def report_failure(events: Emitter, exc: BaseException, source: str = "generation") -> None:
        """The call ended without an answer: say why (never waits: this may be a cancel path)."""
        if isinstance(exc, trio.Cancelled):
            events.emit_nowait(CallCancelled, source=source, reason="cancelled by the caller")
        elif isinstance(exc, Exception):  # provider errors; messages are already redacted
            events.emit_nowait(
                ErrorOccurred, source=source, error_type=type(exc).__name__, message=str(exc)
            )

    def internal_error(self, exc: Exception, doing: str = "handling the call") -> InternalError:
        """`exc`, raised by a bug while `doing` one call, as that call's error (and logged)."""
        return internal_error(self.config, exc, doing)

    def deadline(self, timeout: float | None) -> float:
        timeout = self.policy.timeout if timeout is None else timeout
        return math.inf if timeout is None else trio.current_time() + timeout

    def timed_out(self, deadline: float) -> ProviderTimeout:
        budget = deadline - trio.current_time()
        return ProviderTimeout(
            f"no complete answer within the call's deadline ({budget:+.1f}s left)",
            provider=self.config.provider,
            model=self.config.model,
        )

    def _admit(self) -> None:
        wait = self.breaker.admit()
        if wait is not None:
            error = CircuitOpen(
                f"circuit breaker open after {self.breaker.failures} failures in a row; "
                f"next trial in {wait:.1f}s",
                provider=self.config.provider,
                model=self.config.model,
            )
            error.retry_after = wait
            raise error

    async def _backoff(
        self, attempt: int, error: ProviderError, deadline: float, events: Emitter
    ) -> None:
        """Sleep before the next attempt, or re-raise `error` when we should not retry.

        The breaker hears of the call's failure once, here, when it gives up."""
        delay = self.policy.retry.delay(attempt, error, self._rng)
        kind, detail = type(error).__name__, error.detail
        if delay is None or trio.current_time() + delay >= deadline:
            self.breaker.failed(error)
            if error.retryable:
                await events.emit(RetryExhausted, attempts=attempt, error_type=kind, message=detail)
            raise error
        self.breaker.retrying(error)
        await events.emit(
            RetryAttempted, attempt=attempt, delay=delay, error_type=kind, message=detail
        )
        await trio.sleep(delay)

    async def _generate(
        self, request: Request, deadline: float, events: Emitter
    ) -> GenerateResponse:
        start = trio.current_time()
        response = await self.attempts(lambda: self.adapter.generate(request), deadline, events)
        total = trio.current_time() - start
        return attrs.evolve(
            response,
            provider=self.config.provider,
            model=response.model or self.config.model,
            request_id=request.request_id,
            timings=Timings(ttft=total, total=total),
            cost=self.cost(response.usage),
        )

    async def attempts(
        self, call: Callable[[], Awaitable[T]], deadline: float, events: Emitter
    ) -> T:
        """`call()` under the policies: breaker, concurrency limit, retries with
        backoff, and the deadline (ProviderTimeout when it passes)."""
        attempt = 0
        with trio.move_on_at(deadline) as scope:
            while True:
                attempt += 1
                self._admit()
                try:
                    async with FreeSlot(self.limiter):
                        try:
                            result = await call()
                        except ProviderError:
                            raise
                        except Exception as exc:
                            raise self.internal_error(exc) from exc
                except InternalError:
                    self.breaker.finished_neutral()
                    raise
                except ProviderError as exc:
                    await self._backoff(attempt, exc, deadline, events)
                    continue
                except BaseException:
                    self.breaker.finished_neutral()
                    raise
                self.breaker.succeeded()
                return result
        assert scope.cancelled_caught
        self.breaker.finished_neutral()
        raise self.timed_out(deadline)

    async def _stream(
        self,
        request: Request,
        deadline: float,
        sink: StreamSink,
        events: Emitter,
        tally: StreamTally,
    ) -> None:
        attempt = 0
        while True:
            attempt += 1
            self._admit()
            try:
                await stream_once(self, request, deadline, sink, events, tally)
            except InternalError:
                self.breaker.finished_neutral()
                raise
            except ProviderError as exc:
                if exc.first_token_sent:
                    self.breaker.failed(exc)
                    raise  # tokens already reached the caller: never retry
                await self._backoff(attempt, exc, deadline, events)
                continue
            except BaseException:
                self.breaker.finished_neutral()
                raise
            self.breaker.succeeded()
            return
