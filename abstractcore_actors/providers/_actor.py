"""The provider actor: one per configured provider/model, wrapping its adapter.

Messages (one frozen class per protocol step, dispatched with `match`):
- `GenerateCall` (ask)    → GenerateResponse
- `StreamCall`   (stream) → Chunk, Chunk, …, final Chunk

Around the adapter, the same for every provider: a concurrency limit (a
`trio.CapacityLimiter`), retries with backoff (only before the first streamed
token), a circuit breaker shared by every caller, an overall deadline per
call, and timings. Provider errors are replies to the caller, never crashes.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import trio

from ..errors import CircuitOpen, ProviderError, ProviderTimeout, ValidationError
from ..kernel import ActorContext, Behaviour, UnhandledMessage
from ..types import Chunk, GenerateResponse, Request, Timings
from ._adapter import Adapter, ProviderConfig
from ._resilience import CircuitBreaker, RetryPolicy

# Upper bound on closing an upstream response after a cancel.
_CLOSE_GRACE = 5.0


@attrs.frozen(kw_only=True)
class GenerateCall:
    """Ask for one complete answer."""

    request: Request
    timeout: float | None = None


@attrs.frozen(kw_only=True)
class StreamCall:
    """Ask for a stream of chunks."""

    request: Request
    timeout: float | None = None


@attrs.frozen(kw_only=True)
class ProviderPolicy:
    """The actor's policies; see docs/providers.md."""

    max_concurrent: int = 16
    timeout: float | None = 300.0
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    failure_threshold: int = 5
    reset_after: float = 30.0
    retry_seed: int | None = None


class ProviderActor(Behaviour):
    """Serves GenerateCall / StreamCall for one adapter."""

    reply_errors = (ProviderError, ValidationError)

    def __init__(
        self,
        config: ProviderConfig,
        policy: ProviderPolicy,
        make_adapter: Callable[[ProviderConfig], Adapter],
    ) -> None:
        self.config = config
        self.policy = policy
        self._make_adapter = make_adapter
        self._adapter: Adapter | None = None
        self.limiter = trio.CapacityLimiter(policy.max_concurrent)
        self.breaker = CircuitBreaker(
            failure_threshold=policy.failure_threshold, reset_after=policy.reset_after
        )
        self._rng = random.Random(policy.retry_seed)

    async def started(self, ctx: ActorContext) -> None:
        self._adapter = self._make_adapter(self.config)

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
                return await self._generate(request, self._deadline(timeout))
            case _:
                raise UnhandledMessage(ctx.name, message)

    def stream(self, message: object, ctx: ActorContext) -> AsyncIterator[Any]:
        match message:
            case StreamCall(request=request, timeout=timeout):
                return self._stream(request, self._deadline(timeout))
            case _:
                raise UnhandledMessage(ctx.name, message, how="stream")

    # -- policies --------------------------------------------------------

    def _deadline(self, timeout: float | None) -> float:
        timeout = self.policy.timeout if timeout is None else timeout
        return math.inf if timeout is None else trio.current_time() + timeout

    def _timed_out(self, deadline: float) -> ProviderTimeout:
        budget = deadline - trio.current_time()
        return ProviderTimeout(
            f"no complete answer within the call's deadline ({budget:+.1f}s left)",
            provider=self.config.provider,
            model=self.config.model,
        )

    def _admit(self) -> None:
        wait = self.breaker.admit()
        if wait is not None:
            raise CircuitOpen(
                f"circuit breaker open after {self.breaker.failures} failures in a row; "
                f"next trial in {wait:.1f}s",
                provider=self.config.provider,
                model=self.config.model,
            )

    async def _backoff(self, attempt: int, error: ProviderError, deadline: float) -> None:
        """Sleep before the next attempt, or re-raise `error` when we should not retry."""
        delay = self.policy.retry.delay(attempt, error, self._rng)
        if delay is None or trio.current_time() + delay >= deadline:
            raise error
        await trio.sleep(delay)

    async def _generate(self, request: Request, deadline: float) -> GenerateResponse:
        start = trio.current_time()
        attempt = 0
        with trio.move_on_at(deadline) as scope:
            while True:
                attempt += 1
                self._admit()
                try:
                    async with self.limiter:
                        response = await self.adapter.generate(request)
                except ProviderError as exc:
                    self.breaker.failed(exc)
                    await self._backoff(attempt, exc, deadline)
                    continue
                except BaseException:
                    self.breaker.finished_neutral()
                    raise
                self.breaker.succeeded()
                total = trio.current_time() - start
                return attrs.evolve(
                    response,
                    provider=self.config.provider,
                    model=response.model or self.config.model,
                    request_id=request.request_id,
                    timings=Timings(ttft=total, total=total),
                )
        assert scope.cancelled_caught
        self.breaker.finished_neutral()
        raise self._timed_out(deadline)

    async def _stream(self, request: Request, deadline: float) -> AsyncIterator[Chunk]:
        # No `yield` inside a cancel scope or `async with` (trio's rule for
        # async generators): the deadline wraps each step, not the yield.
        attempt = 0
        while True:
            attempt += 1
            self._admit()
            with trio.move_on_at(deadline):
                await self.limiter.acquire()
            if trio.current_time() >= deadline:
                self.breaker.finished_neutral()
                raise self._timed_out(deadline)
            upstream = self.adapter.stream(request)
            yielded = False
            try:
                while True:
                    # Each chunk must come within read_timeout (a stalled
                    # stream), and the whole call within its deadline. The
                    # SDKs have read timeouts too; this one holds for all.
                    idle_limit = trio.current_time() + self.config.read_timeout
                    with trio.move_on_at(min(deadline, idle_limit)) as scope:
                        try:
                            chunk = await upstream.__anext__()
                        except StopAsyncIteration:
                            break
                    if scope.cancelled_caught:
                        if trio.current_time() >= deadline:
                            raise self._timed_out(deadline)
                        raise ProviderTimeout(
                            f"the stream stalled: no data for {self.config.read_timeout:g}s",
                            provider=self.config.provider,
                            model=self.config.model,
                        )
                    yielded = True
                    yield chunk
            except ProviderError as exc:
                self.breaker.failed(exc)
                if yielded:
                    raise  # tokens already reached the caller: never retry
                retry_error: ProviderError | None = exc
            except BaseException:
                self.breaker.finished_neutral()
                raise
            else:
                retry_error = None
                self.breaker.succeeded()
            finally:
                # Shielded (and bounded): a cancelled caller must still get
                # the upstream response closed, or its socket would linger.
                with trio.move_on_after(_CLOSE_GRACE, shield=True):
                    await upstream.aclose()  # type: ignore[attr-defined]
                self.limiter.release()
            if retry_error is None:
                return
            await self._backoff(attempt, retry_error, deadline)
