"""The router actor: one named, LLM-like front over several deployments.

It speaks the provider actor's protocol (GenerateCall, StreamCall,
EmbedCall), so the `LLM` handle `rt.router(...)` returns goes wherever an
LLM goes: generate, stream, race, ensemble, hedge, sessions, structured
output, the gateway. Each call is planned by the strategy (`_strategy.py`),
then tried deployment after deployment while the errors say to fall back
(`_fallback.py`); a stream falls back only until its first chunk has gone
to the caller, never after. Each step is in the answer's `route` and on the
event bus (RouteChosen, RouteFailed).

Its state (`DeploymentState`s: calls in flight, latency averages,
cooldowns) belongs to this actor alone; its handlers run concurrently
(one task per call) in the actor's nursery, in one trio thread.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import attrs
import trio

from .._kernel import ActorContext, Behaviour, StreamSink
from .._providers import ACCEPTED, EmbedCall, GenerateCall, Routed, StreamCall
from ..errors import (
    AllAttemptsFailed,
    ContextTooLong,
    ProviderError,
    ProviderTimeout,
    UnhandledMessage,
    ValidationError,
)
from ..events import EventBus, RouteChosen, RouteFailed
from ..types import EmbeddingResponse, GenerateResponse, Request, RouteAttempt
from ._deployment import Deployment, DeploymentState
from ._fallback import verdict
from ._health import REFRESH, HealthBoard
from ._needs import Needs
from ._semantic import PrepareRoutes, SemanticRoutes, request_text
from ._strategy import Choice, RoutingStrategy, plan

T = TypeVar("T")


@attrs.define(eq=False)
class _Call:
    """One routed call as it goes: its steps and failures so far."""

    request_id: str
    session_id: str | None
    deadline: float
    route: list[RouteAttempt] = attrs.field(factory=list)
    failures: list[tuple[str, BaseException]] = attrs.field(factory=list)
    attempt: int = 0
    reason: str = ""  # why the deployment being tried was chosen
    scores: tuple[tuple[str, float], ...] = ()  # a semantic router's, for its events
    # after a ContextTooLong: only a window larger than this may help
    larger_than: int | None = None

    def timeout(self) -> float | None:
        if self.deadline == math.inf:
            return None
        return max(self.deadline - trio.current_time(), 0.0)


class RouterActor(Behaviour):
    """Serves GenerateCall / StreamCall / EmbedCall over its deployments."""

    reply_errors = (ProviderError, ValidationError, AllAttemptsFailed)

    def __init__(
        self,
        name: str,
        deployments: Sequence[Deployment],
        strategy: RoutingStrategy,
        bus: EventBus,
        *,
        min_tier: int = 0,
        seed: int | None = None,
        health: HealthBoard | None = None,
        semantic: SemanticRoutes | None = None,
    ) -> None:
        self.name = name
        self.semantic = semantic
        self.health = health
        self._health_read = -math.inf  # when the board was last read (trio time)
        self.strategy = strategy
        self.states = [DeploymentState(d, i) for i, d in enumerate(deployments)]
        self.bus = bus
        self.min_tier = min_tier
        self._rng = random.Random(seed)

    # -- the protocol ------------------------------------------------------

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        match message:
            case GenerateCall(request=request, timeout=timeout):
                call = self._call(request, timeout)
                return await self._first_answer(
                    call, request, lambda s: self._generate_on(s, request, call)
                )
            case EmbedCall(request=embedding, timeout=timeout):
                call = _Call(request_id=embedding.request_id, session_id=None, deadline=math.inf)
                if timeout is not None:
                    call.deadline = trio.current_time() + timeout
                text = Request(messages=())  # embeddings fit every deployment's window
                return await self._first_answer(
                    call, text, lambda s: self._embed_on(s, message, call)
                )
            case PrepareRoutes():
                if self.semantic is not None:
                    await self.semantic.ready()
                return None
            case _:
                raise UnhandledMessage(ctx.name, message)

    async def stream_into(self, message: object, ctx: ActorContext, sink: StreamSink) -> None:
        match message:
            case StreamCall(request=request, timeout=timeout):
                call = self._call(request, timeout)
                accepted = [False]
                await self._first_answer(
                    call, request, lambda s: self._stream_on(s, request, call, sink, accepted)
                )
            case _:
                raise UnhandledMessage(ctx.name, message, how="stream")

    def _call(self, request: Request, timeout: float | None) -> _Call:
        deadline = math.inf if timeout is None else trio.current_time() + timeout
        return _Call(
            request_id=request.request_id, session_id=request.session_id, deadline=deadline
        )

    # -- the one attempt loop ------------------------------------------------

    async def _first_answer(
        self,
        call: _Call,
        request: Request,
        attempt: Callable[[DeploymentState], Awaitable[T]],
    ) -> T:
        """Try the plan's deployments in order until one answers; raise the
        request's own error at once, or AllAttemptsFailed with every cause."""
        needs = Needs.of(request)
        await self._read_health()
        now = trio.current_time()
        if self.semantic is not None:
            call.scores = await self.semantic.scores(request_text(request))
            route_plan = self.semantic.plan(self.states, call.scores)
        else:
            route_plan = plan(
                self.strategy,
                self.states,
                needs,
                now=now,
                rng=self._rng,
                min_tier=self.min_tier,
                answer_room=request.max_tokens or 256,
            )
        for skipped in route_plan.skipped:
            call.route.append(self._step(skipped.state, "skipped", skipped.reason))
        if not route_plan.order:
            raise ContextTooLong(
                f"no deployment of router {self.name!r} fits this request: "
                + "; ".join(f"{c.state.label}: {c.reason}" for c in route_plan.skipped),
                provider="router",
                model=self.name,
            )
        for index, choice in enumerate(route_plan.order):
            state = choice.state
            window = state.deployment.window
            if call.larger_than is not None and window is not None and window <= call.larger_than:
                why = f"its {window}-token window is not larger than the one that was too small"
                call.route.append(self._step(state, "skipped", why))
                continue
            if call.timeout() == 0.0:
                break
            more = index + 1 < len(route_plan.order)
            result = await self._try(call, choice, more, attempt)
            if result is not _FAILED:
                return result  # type: ignore[return-value]
        raise self._all_failed(call)

    async def _try(
        self,
        call: _Call,
        choice: Choice,
        more: bool,
        attempt: Callable[[DeploymentState], Awaitable[T]],
    ) -> T | object:
        state = choice.state
        call.attempt += 1
        call.reason = choice.reason
        events = self.bus.emitter(
            call.request_id,
            session_id=call.session_id,
            provider=state.deployment.llm.provider,
            model=state.deployment.llm.model,
        )
        await events.emit(
            RouteChosen,
            router=self.name,
            deployment=state.label,
            attempt=call.attempt,
            reason=choice.reason,
            scores=call.scores,
        )
        started = trio.current_time()
        state.in_flight += 1
        try:
            return await attempt(state)
        except (ProviderError, ValidationError) as exc:
            if getattr(exc, "first_token_sent", False):
                raise  # tokens reached the caller: never fall back
            judged = verdict(exc)
            if judged.fall_back:
                state.failed(trio.current_time(), judged.cooldown)
                if self.health is not None and judged.cooldown:
                    until = time.time() + judged.cooldown
                    await self.health.cool(self.name, state.label, until)
            if judged.larger_window:
                call.larger_than = state.deployment.window or call.larger_than
            call.route.append(
                self._step(
                    state,
                    "failed",
                    choice.reason,
                    error=f"{type(exc).__name__}: {exc}",
                    duration=trio.current_time() - started,
                )
            )
            await events.emit(
                RouteFailed,
                router=self.name,
                deployment=state.label,
                attempt=call.attempt,
                error_type=type(exc).__name__,
                message=str(exc),
                fallback=judged.fall_back and more,
            )
            if not judged.fall_back:
                raise
            call.failures.append((state.label, exc))
            return _FAILED
        finally:
            state.in_flight -= 1

    # -- one deployment, per kind of call ------------------------------------

    async def _generate_on(
        self, state: DeploymentState, request: Request, call: _Call
    ) -> GenerateResponse:
        started = trio.current_time()
        llm = state.deployment.llm
        response = await llm.generate_request(request, timeout=call.timeout())
        await self._recovered(state, response.timings.ttft)
        call.route.append(
            self._step(state, "answered", _reason_of(call), duration=trio.current_time() - started)
        )
        return attrs.evolve(response, route=tuple(call.route))

    async def _embed_on(
        self, state: DeploymentState, message: EmbedCall, call: _Call
    ) -> EmbeddingResponse:
        response = await state.deployment.llm.embed_request(message.request, timeout=call.timeout())
        await self._recovered(state, None)
        return response

    async def _stream_on(
        self,
        state: DeploymentState,
        request: Request,
        call: _Call,
        sink: StreamSink,
        accepted: list[bool],
    ) -> None:
        started = trio.current_time()
        llm = state.deployment.llm
        async with llm.stream_request(request, timeout=call.timeout()) as stream:
            await stream.wait_accepted()  # an error up to here: nothing reached the caller
            if not accepted[0]:
                accepted[0] = True
                await sink.send(ACCEPTED)
            try:
                first = await stream.__anext__()
            except StopAsyncIteration:
                first = None
            ttft = trio.current_time() - started
            call.route.append(self._step(state, "answered", _reason_of(call), duration=ttft))
            await sink.send(
                Routed(
                    provider=llm.provider,
                    model=llm.model,
                    facts=llm.facts,
                    route=tuple(call.route),
                )
            )
            if first is None:
                await self._recovered(state, ttft)
                return
            await sink.send(first)
            try:
                async for chunk in stream:
                    try:
                        sink.send_nowait(chunk)
                    except trio.WouldBlock:
                        await sink.send(chunk)
            except ProviderError as exc:
                exc.first_token_sent = True
                raise
            await self._recovered(state, ttft)

    # -- shared health -------------------------------------------------------

    async def _read_health(self) -> None:
        """Take the other replicas' cooldowns (at most every REFRESH seconds)."""
        if self.health is None or trio.current_time() - self._health_read < REFRESH:
            return
        self._health_read = trio.current_time()
        cooling = await self.health.cooling(self.name)
        wall, now = time.time(), trio.current_time()
        for state in self.states:
            until = cooling.get(state.label)
            if until is not None:
                state.cooling_until = max(state.cooling_until, now + (until - wall))

    async def _recovered(self, state: DeploymentState, ttft: float | None) -> None:
        """A deployment answered: its cooldown is over, here and on the board."""
        was_cooling = state.cooling(trio.current_time())
        state.answered(ttft)
        if was_cooling and self.health is not None:
            await self.health.clear(self.name, state.label)

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _step(
        state: DeploymentState,
        outcome: str,
        reason: str,
        *,
        error: str = "",
        duration: float = 0.0,
    ) -> RouteAttempt:
        llm = state.deployment.llm
        return RouteAttempt(
            deployment=state.label,
            provider=llm.provider,
            model=llm.model,
            outcome=outcome,  # type: ignore[arg-type]
            reason=reason,
            error=error,
            duration=duration,
        )

    def _all_failed(self, call: _Call) -> BaseException:
        if not call.failures:
            return ProviderTimeout(
                f"router {self.name!r}: the call's deadline passed before a deployment answered",
                provider="router",
                model=self.name,
            )
        error = AllAttemptsFailed(f"router {self.name!r}", call.failures)
        error.route = tuple(call.route)  # type: ignore[attr-defined]
        return error


_FAILED = object()


def _reason_of(call: _Call) -> str:
    if call.attempt == 1:
        return call.reason
    return f"{call.reason}; after {call.attempt - 1} failed attempt(s)"
