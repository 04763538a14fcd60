"""Model names -> what answers them: one LLM, or a virtual model over several.

    "fast"                a configured model (or an alias of one)
    "openai/gpt-4o-mini"  any `provider/model` (when `passthrough` is on)
    "race:a,b"            each of a, b answers; the first answer wins and the
                          others are cancelled (`abstractcore_actors.race`)
    "ensemble:a,b,c"      all answer; the most common answer wins (`ensemble`;
                          ?combine=, judge=, min=, timeout= change that)
    "hedge:a,b?after=0.5" a answers; if it has not after 0.5 s, b starts too;
                          the first answer wins (`hedge`)

The options are parsed in `_virtual.py`.

A virtual model streams like any other; race and hedge stream the winner's
tokens as they come (a streamed hedge's `after` counts to a first token),
ensemble sends its combined answer as one chunk.

LLMs are made on first use with `rt.create_llm` and kept for the app's life,
one per name, so their provider actors' limits and breakers are shared by
every request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import attrs

from .._providers import LLM
from .._routing import Deployment, HealthBoard, PrepareRoutes
from ..errors import ConfigurationError, ValidationError
from ..patterns import PatternResult, ensemble, hedge, hedge_stream, race, race_stream
from ..runtime import Runtime
from ..types import Chunk, Cost, GenerateResponse, ToolCallDelta
from ._config import GatewayConfig
from ._errors import HTTPError
from ._virtual import SYNTAX, VirtualSpec, is_virtual, parse_virtual


class Target(Protocol):
    """What answers a model name."""

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        """One whole answer; raises our errors."""
        ...

    def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AbstractAsyncContextManager[AsyncIterator[Chunk]]:
        """Chunks as they come; leaving the block cancels the upstream call."""
        ...


@attrs.frozen
class SingleTarget:
    llm: LLM

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        request = self.llm.request(**args)
        return await self.llm.generate_request(request, timeout=timeout)

    @asynccontextmanager
    async def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        request = self.llm.request(**args)
        async with self.llm.stream_request(request, timeout=timeout) as chunks:
            yield chunks


@attrs.frozen
class RaceTarget:
    llms: tuple[LLM, ...]
    timeout: float | None = None  # the name's ?timeout=: may only shorten the gateway's

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        result = await race(list(self.llms), timeout=tighter(self.timeout, timeout), **args)
        return priced(result)

    @asynccontextmanager
    async def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        async with race_stream(
            list(self.llms), timeout=tighter(self.timeout, timeout), **args
        ) as chunks:
            yield chunks


@attrs.frozen
class HedgeTarget:
    """hedge: whole answers by `hedge`; a stream by `hedge_stream`, where the
    delay counts to a first token and the winner's tokens stream as they come."""

    llms: tuple[LLM, ...]
    after: float
    max_attempts: int | None = None
    timeout: float | None = None  # the name's ?timeout=: may only shorten the gateway's

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        result = await hedge(
            list(self.llms),
            after=self.after,
            max_attempts=self.max_attempts,
            timeout=tighter(self.timeout, timeout),
            **args,
        )
        return priced(result)

    @asynccontextmanager
    async def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        async with hedge_stream(
            list(self.llms),
            after=self.after,
            max_attempts=self.max_attempts,
            timeout=tighter(self.timeout, timeout),
            **args,
        ) as chunks:
            yield chunks


def tighter(asked: float | None, limit: float | None) -> float | None:
    """A virtual name's ?timeout= within the gateway's request_timeout: a client
    may ask for less time than the server allows, never for more."""
    if asked is None:
        return limit
    return asked if limit is None else min(asked, limit)


Pattern = Callable[[list[LLM], float | None, Mapping[str, Any]], Awaitable[PatternResult]]


def as_chunk(response: GenerateResponse) -> Chunk:
    """A whole answer as the one chunk of a stream."""
    deltas = tuple(
        ToolCallDelta(
            index=i,
            id=call.id,
            name=call.name,
            arguments=call.raw_arguments or json.dumps(dict(call.arguments)),
        )
        for i, call in enumerate(response.tool_calls)
    )
    return Chunk(
        text=response.content,
        tool_calls=deltas,
        finish_reason=response.finish_reason or ("tool_calls" if deltas else "stop"),
        usage=response.usage,
    )


def priced(result: PatternResult) -> GenerateResponse:
    """The pattern's answer, carrying what all its attempts cost (the wasted
    ones too: that is what the caller spent); its usage stays the answer's."""
    return attrs.evolve(result.response, cost=result.cost)


class OneChunk:
    """A whole answer as a stream of one chunk, which knows what it cost."""

    def __init__(self, response: GenerateResponse) -> None:
        self._chunk: Chunk | None = as_chunk(response)
        self._cost = response.cost or Cost.unknown("virtual")

    def __aiter__(self) -> OneChunk:
        return self

    async def __anext__(self) -> Chunk:
        if self._chunk is None:
            raise StopAsyncIteration
        chunk, self._chunk = self._chunk, None
        return chunk

    def cost(self) -> Cost:
        return self._cost


@attrs.frozen
class PatternTarget:
    """ensemble: whole answers only; a stream gets the answer as one chunk."""

    llms: tuple[LLM, ...]
    run: Pattern
    timeout: float | None = None  # the name's ?timeout=: may only shorten the gateway's

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        result = await self.run(list(self.llms), tighter(self.timeout, timeout), args)
        return priced(result)

    @asynccontextmanager
    async def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        yield OneChunk(await self.generate(args, timeout))


def _pattern(spec: VirtualSpec, judge: LLM | None) -> Pattern:
    async def run(llms: list[LLM], timeout: float | None, args: Mapping[str, Any]) -> PatternResult:
        return await ensemble(
            llms,
            combine=spec.combine,
            judge=judge,
            min_responses=spec.min_responses,
            timeout=timeout,
            **args,
        )

    return run


def unknown_model(name: str, available: list[str], why: str = "") -> HTTPError:
    listed = ", ".join(available) or "none"
    reason = f" ({why})" if why else ""
    return HTTPError(
        404,
        f"The model {name!r} does not exist or you do not have access to it{reason}. "
        f"Available models: {listed}; virtual models: {SYNTAX}",
        code="model_not_found",
        param="model",
    )


Allowed = Callable[[str], bool]


def _everything(name: str) -> bool:
    return True


@attrs.define(eq=False)
class Router:
    """Resolves model names for one app; caches the LLMs it creates."""

    rt: Runtime
    config: GatewayConfig
    _llms: dict[str, LLM] = attrs.field(factory=dict)
    _deployments: dict[str, list[LLM]] = attrs.field(factory=dict)  # router name -> its LLMs
    health: HealthBoard | None = None  # deployment health shared with other replicas

    def resolve(self, name: str, allowed: Allowed = _everything) -> Target:
        """The target for `name`; HTTPError 400 (malformed virtual name), 404 (unknown,
        or a model `allowed` refuses) or 503 (cannot be set up)."""
        aliased = self.config.aliases.get(name)
        if aliased is not None and is_virtual(aliased):
            # the operator's virtual alias: a key allowed the alias may use
            # its members through it, as through a configured model
            if not allowed(name):
                raise self.not_found(name, allowed)
            return self._virtual(aliased, _everything)
        if not is_virtual(name):
            return SingleTarget(self.llm(name, allowed))
        return self._virtual(name, allowed)

    def _virtual(self, name: str, allowed: Allowed) -> Target:
        spec = parse_virtual(name)
        for member in spec.model_names():
            if not allowed(member):
                raise self.not_found(name, allowed)
        llms = tuple(self.llm(m, allowed) for m in spec.members)
        if spec.kind == "race":
            return RaceTarget(llms, spec.timeout)
        if spec.kind == "hedge":
            return HedgeTarget(llms, spec.after, spec.max_attempts, spec.timeout)
        judge = self.llm(spec.judge, allowed) if spec.judge else None
        return PatternTarget(llms, _pattern(spec, judge), spec.timeout)

    def provider_of(self, name: str) -> str:
        """The provider label of a name `resolve` accepted ("virtual" for a virtual one)."""
        if self.config.is_virtual_name(name):
            return "virtual"
        public = self.config.aliases.get(name, name)
        if public in self.config.routers:
            return "router"
        route = self.config.models.get(public)
        return route.provider if route is not None else public.partition("/")[0]

    def not_found(self, name: str, allowed: Allowed, why: str = "") -> HTTPError:
        """404 for `name`, listing only the models `allowed` lets the caller see."""
        return unknown_model(name, [n for n in self.config.public_names() if allowed(n)], why)

    def llm(self, name: str, allowed: Allowed = _everything) -> LLM:
        """The LLM for a plain (not virtual) model name, made on first use."""
        if not allowed(name):
            raise self.not_found(name, allowed)
        public = self.config.aliases.get(name, name)
        cached = self._llms.get(public)
        if cached is not None:
            return cached
        route = self.config.models.get(public)
        try:
            if public in self.config.routers:
                llm = self._router(public)
            elif route is not None:
                llm = self.rt.create_llm(route.provider, route.model, **route.options)
            elif self.config.passthrough and "/" in public:
                llm = self.rt.create_llm(public)
            else:
                raise self.not_found(name, allowed)
        except ConfigurationError as exc:
            raise HTTPError(
                503,
                f"the model {name!r} is not available: {exc}",
                type="service_unavailable",
                code="model_unavailable",
                param="model",
            ) from None
        except ValidationError as exc:
            raise self.not_found(name, allowed, str(exc)) from None
        self._llms[public] = llm
        return llm

    def _router(self, name: str) -> LLM:
        """A configured router, over the LLMs of its deployments (a configured
        model it `use`s is the very LLM that name serves: limits shared)."""
        spec = self.config.routers[name]
        deployments = []
        for d in spec.deployments:
            if d.use is not None:
                llm = self.llm(d.use)
            else:
                llm = self.rt.create_llm(d.route.provider, d.route.model, **d.route.options)
            if d.price is not None:  # the deployment's own price, for its model
                self.rt.prices.add({f"{llm.provider}/{llm.model}": d.price})
            deployments.append(
                Deployment(
                    llm=llm,
                    name=d.name or (d.use or ""),
                    weight=d.weight,
                    tags=d.tags,
                    tier=d.tier,
                    context_window=d.context_window,
                    examples=d.examples,
                )
            )
        self._deployments[name] = [d.llm for d in deployments]
        if spec.strategy != "semantic":
            return self.rt.router(
                name,
                deployments,
                strategy=spec.strategy,
                min_tier=spec.min_tier,
                health=self.health,
            )
        embedder = (
            self.llm(spec.embedding_model)
            if spec.embedding_model is not None
            else self.rt.create_llm("local", name=f"embed:{name}")
        )
        return self.rt.router(
            name,
            deployments,
            strategy="semantic",
            embedder=embedder,
            threshold=spec.threshold,
            default=spec.default,
        )

    async def prepare(self) -> None:
        """Embed every semantic router's examples now (raises what the
        embedding model raises: a missing model stops start-up)."""
        for name, spec in self.config.routers.items():
            if spec.strategy == "semantic":
                await self.llm(name).actor.ask(PrepareRoutes())

    def deployments_of(self, name: str) -> list[LLM]:
        """The LLMs of a configured router's deployments (made with it)."""
        self.llm(name)
        return self._deployments[name]

    def paused(self) -> list[dict[str, object]]:
        """The models whose provider actor is parked (crashed past its restart
        intensity): name, seconds until it restarts, and the last crash."""
        found: list[dict[str, object]] = []
        for name, llm in sorted(self._llms.items()):
            parked = llm.actor.unavailable
            if parked is not None:
                reason = f"{type(parked.reason).__name__}: {parked.reason}"
                found.append(
                    {"model": name, "retry_in": round(parked.retry_in, 3), "reason": reason[:200]}
                )
        return found
