"""Model names -> what answers them: one LLM, or a virtual model over several.

    "fast"                a configured model (or an alias of one)
    "openai/gpt-4o-mini"  any `provider/model` (when `passthrough` is on)
    "race:a,b"            each of a, b answers; the first answer wins and the
                          others are cancelled (`abstractcore_actors.race`)
    "ensemble:a,b,c"      all answer; the most common answer wins (`ensemble`,
                          combine="vote")
    "hedge:0.5:a,b"       a answers; if it has not after 0.5 s, b starts too;
                          the first answer wins (`hedge`)

A virtual model streams like any other; race streams the winner's tokens
as they come, ensemble and hedge send their combined answer as one chunk.

LLMs are made on first use with `rt.create_llm` and kept for the app's life,
one per name, so their provider actors' limits and breakers are shared by
every request.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import attrs

from ..errors import ConfigurationError, ValidationError
from ..patterns import PatternResult, ensemble, hedge, race, race_stream
from ..providers import LLM
from ..runtime import Runtime
from ..types import Chunk, GenerateResponse, ToolCallDelta
from ._config import GatewayConfig
from ._errors import HTTPError

_MAX_CONTENDERS = 8


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

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        result = await race(list(self.llms), timeout=timeout, **args)
        return result.response

    @asynccontextmanager
    async def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        async with race_stream(list(self.llms), timeout=timeout, **args) as chunks:
            yield chunks


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


async def _one(chunk: Chunk) -> AsyncIterator[Chunk]:
    yield chunk


@attrs.frozen
class PatternTarget:
    """ensemble / hedge: whole answers only; a stream gets the answer as one chunk."""

    llms: tuple[LLM, ...]
    run: Pattern

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        result = await self.run(list(self.llms), timeout, args)
        return result.response

    @asynccontextmanager
    async def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        response = await self.generate(args, timeout)
        yield _one(as_chunk(response))


async def _vote(llms: list[LLM], timeout: float | None, args: Mapping[str, Any]) -> PatternResult:
    return await ensemble(llms, combine="vote", timeout=timeout, **args)


def _hedge_after(after: float) -> Pattern:
    async def run(llms: list[LLM], timeout: float | None, args: Mapping[str, Any]) -> PatternResult:
        return await hedge(llms, after=after, timeout=timeout, **args)

    return run


def bad_virtual(name: str, why: str) -> HTTPError:
    return HTTPError(400, f"invalid virtual model {name!r}: {why}", param="model")


def unknown_model(name: str, available: list[str], why: str = "") -> HTTPError:
    listed = ", ".join(available) or "none"
    reason = f" ({why})" if why else ""
    return HTTPError(
        404,
        f"The model {name!r} does not exist{reason}. Available models: {listed}; "
        "virtual models: race:<model>,<model>, ensemble:<model>,<model>,..., "
        "hedge:<seconds>:<model>,<model>",
        code="model_not_found",
        param="model",
    )


@attrs.define(eq=False)
class Router:
    """Resolves model names for one app; caches the LLMs it creates."""

    rt: Runtime
    config: GatewayConfig
    _llms: dict[str, LLM] = attrs.field(factory=dict)

    def resolve(self, name: str) -> Target:
        """The target for `name`; HTTPError 404 (unknown) or 503 (cannot be set up)."""
        kind, colon, rest = name.partition(":")
        if not colon or kind not in ("race", "ensemble", "hedge"):
            return SingleTarget(self.llm(name))
        run: Pattern = _vote
        if kind == "hedge":
            seconds, _, rest = rest.partition(":")
            try:
                after = float(seconds)
            except ValueError:
                after = math.nan
            if not 0 <= after <= 3600:
                raise bad_virtual(name, "write hedge:<seconds>:<model>,<model> (0 to 3600 s)")
            run = _hedge_after(after)
        parts = [p.strip() for p in rest.split(",") if p.strip()]
        if not 1 <= len(parts) <= _MAX_CONTENDERS:
            raise bad_virtual(name, f"{kind} takes 1 to {_MAX_CONTENDERS} model names")
        llms = tuple(self.llm(p) for p in parts)
        return RaceTarget(llms) if kind == "race" else PatternTarget(llms, run)

    def llm(self, name: str) -> LLM:
        """The LLM for a plain (not virtual) model name, made on first use."""
        public = self.config.aliases.get(name, name)
        cached = self._llms.get(public)
        if cached is not None:
            return cached
        route = self.config.models.get(public)
        try:
            if route is not None:
                llm = self.rt.create_llm(route.provider, route.model, **route.options)
            elif self.config.passthrough and "/" in public:
                llm = self.rt.create_llm(public)
            else:
                raise unknown_model(name, self.config.public_names())
        except ConfigurationError as exc:
            raise HTTPError(
                503,
                f"the model {name!r} is not available: {exc}",
                type="service_unavailable",
                code="model_unavailable",
                param="model",
            ) from None
        except ValidationError as exc:
            raise unknown_model(name, self.config.public_names(), str(exc)) from None
        self._llms[public] = llm
        return llm
