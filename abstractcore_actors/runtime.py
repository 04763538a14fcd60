"""`open_runtime()`: the runtime a user opens inside their own trio nursery.

This module is the composition root: it ties the layers together behind
one object, so it sits above them all (like `__init__`).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, final

import trio

from ._call_rules import check_timeout
from ._kernel import (
    DEFAULT_HIBERNATE_AFTER,
    ActorRef,
    ActorSystem,
    BehaviourFactory,
    GiveUp,
    Strategy,
    Supervisor,
    open_actor_system,
)
from ._mcp import McpServerSpec, McpTools, serve_mcp_client
from ._pricing import Price, PriceBook
from ._providers import (
    LLM,
    Adapter,
    ProviderActor,
    ProviderConfig,
    ProviderPolicy,
    adapter_factory,
    build_provider,
    embed_many,
)
from ._routing import Deployment, HealthBoard, RoutingStrategy, start_router
from ._tools import ToolRegistry, coerce_tools
from .errors import NotUnderTrio, ValidationError
from .events import EventBus, SessionCreated
from .sessions import Session, SessionActor, SessionCore, SessionState, TurnContext
from .types import EmbeddingResponse


@final
class Runtime:
    """Everything a program needs, hanging off one object. Made by `open_runtime()`."""

    def __init__(
        self, actors: ActorSystem, env: Mapping[str, str], prices: PriceBook | None = None
    ) -> None:
        self.actors = actors
        self._env = env
        self.prices = prices if prices is not None else PriceBook()
        """Prices and context windows per model (see docs/routing.md)."""
        self.events = EventBus(actors)
        """Every event of this runtime: `async with rt.events.subscribe(...) as events:`."""

    def __repr__(self) -> str:
        return f"<Runtime actors={len(self.actors.registry)}>"

    async def spawn(
        self,
        factory: BehaviourFactory,
        *,
        name: str | None = None,
        mailbox_size: int = 64,
        concurrency: int | None = 1,
        hibernate_after: float | None = DEFAULT_HIBERNATE_AFTER,
        give_up: GiveUp | str = GiveUp.ESCALATE,
    ) -> ActorRef:
        """Spawn an actor under the runtime's root supervisor (one_for_one).

        See `Supervisor.spawn`: an actor idle for `hibernate_after` seconds
        gives up its task until the next message (None: never).
        """
        return await self.actors.spawn(
            factory,
            name=name,
            mailbox_size=mailbox_size,
            concurrency=concurrency,
            hibernate_after=hibernate_after,
            give_up=give_up,
        )

    def supervise(
        self,
        *,
        name: str = "supervisor",
        strategy: Strategy | str = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        within: float = 5.0,
    ) -> AbstractAsyncContextManager[Supervisor]:
        """Open a supervisor whose children live inside the `async with` block."""
        return self.actors.supervise(
            name=name, strategy=strategy, max_restarts=max_restarts, within=within
        )

    def create_llm(self, provider: str, model: str | None = None, **options: Any) -> LLM:
        """Start a supervised provider actor and return its `LLM` handle.

        `provider` is one of openai, anthropic, openai-compatible, ollama,
        lmstudio, vllm, llamacpp, openrouter, local — or "provider/model".
        Options: api_key, base_url, timeout (whole call, default 300 s),
        read_timeout, connect_timeout, max_concurrent, max_retries (or
        retry=RetryPolicy(...)), failure_threshold, reset_after, headers,
        name, and per-provider extras (see docs/providers.md).

        Returns at once; the actor starts in the runtime's nursery. Raises
        ValidationError / ConfigurationError (missing key, package or model
        file) before starting anything.
        """
        config, policy, name, make_adapter = self._provider(provider, model, options)
        if name is None:
            name = self.actors.free_name(f"llm:{config.provider}/{config.model}")
        ref = self.actors.root.spawn_nowait(
            lambda: ProviderActor(config, policy, make_adapter, self.events, self.prices),
            name=name,
            concurrency=None,
            mailbox_size=max(64, policy.max_concurrent * 4),
            # A provider actor holds no caller's state, and a call's own
            # failure never crashes it: if it still crash-loops, park it
            # (its callers get ProviderUnavailable) rather than end the
            # whole runtime — or the gateway serving every other model.
            give_up=GiveUp.BACK_OFF,
        )
        return LLM(ref, config, self.prices)

    async def embed_many(
        self,
        texts: Sequence[str],
        *,
        model: LLM | str,
        batch_size: int = 256,
        concurrency: int = 4,
        dimensions: int | None = None,
        timeout: float | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> EmbeddingResponse:
        """Embed a large list of texts: requests of `batch_size` texts, at most
        `concurrency` in flight; one vector per text, in order, usage and cost
        summed. `model`: an LLM handle, or "provider/model" (a provider actor
        made for this call and stopped after it). `progress(done, total)` is
        called (or awaited) as texts are done. The first failure cancels the
        rest and is raised; see docs/providers.md, "Embeddings"."""
        made = not isinstance(model, LLM)
        llm = self.create_llm(model) if isinstance(model, str) else model
        try:
            return await embed_many(
                llm,
                texts,
                batch_size=batch_size,
                concurrency=concurrency,
                dimensions=dimensions,
                timeout=timeout,
                progress=progress,
            )
        finally:
            if made:  # the actor made for this call
                await llm.actor.stop()

    def router(
        self,
        name: str,
        deployments: Sequence[Deployment | LLM],
        *,
        strategy: RoutingStrategy | str = "fallback",
        min_tier: int = 0,
        seed: int | None = None,
        health: HealthBoard | None = None,
        embedder: LLM | None = None,
        threshold: float = 0.25,
        default: str | None = None,
        aggregate: str = "centroid",
    ) -> LLM:
        """Start a router actor over `deployments` and return its `LLM` handle.

        Each deployment is a `Deployment` (an LLM with weight, tags, tier,
        context window) or a bare LLM. `strategy`: fallback (in order),
        weighted, least_busy, lowest_latency or cheapest (at `min_tier` or
        above). The handle goes wherever an LLM goes; answers carry their
        `route`. Raises ValidationError for no deployments, a duplicate
        name or an unknown strategy. `health`: a board the routers of several
        processes share their deployments' cooldowns on (the gateway passes
        its Redis one). `strategy="semantic"`: each deployment is a route with
        `examples`; a request goes to the route whose examples it is most like
        by `embedder`'s vectors (default: the local embedding model), by cosine
        to their centroid (`aggregate="centroid"`) or to the nearest one
        ("max"), when it reaches `threshold`; else to `default` (a route's
        label; default the first). See docs/routing.md.
        """
        return start_router(
            self.actors,
            self.events,
            self.prices,
            name,
            deployments,
            strategy=strategy,
            min_tier=min_tier,
            seed=seed,
            health=health,
            # the shipped local embedding model, an actor of its own, made only when needed
            embedder=(
                embedder
                if embedder is not None
                else lambda: self.create_llm("local", name=f"embed:{name}")
            ),
            threshold=threshold,
            default=default,
            aggregate=aggregate,
        )

    def provider_config(
        self, provider: str, model: str | None = None, **options: Any
    ) -> ProviderConfig:
        """The provider config `create_llm` with these arguments would use (its
        resolved provider, model and base URL), without starting anything."""
        config, _, _, _ = self._provider(provider, model, options)
        return config

    def check_llm(self, provider: str, model: str | None = None, **options: Any) -> None:
        """Raise what `create_llm` with these arguments would raise (ValidationError,
        ConfigurationError: a misspelt provider or option, a missing key or
        base_url), without starting anything. A gateway checks its config so."""
        self._provider(provider, model, options)

    def _provider(
        self, provider: str, model: str | None, options: Mapping[str, Any]
    ) -> tuple[ProviderConfig, ProviderPolicy, str | None, Callable[[ProviderConfig], Adapter]]:
        config, policy, name = build_provider(provider, model, options, self._env)
        return config, policy, name, adapter_factory(config)

    def session(
        self,
        llm: LLM,
        system_prompt: str | None = None,
        tools: Iterable[object] = (),
        *,
        max_iterations: int = 10,
        tool_timeout: float | None = 30.0,
        session_id: str | None = None,
        **options: Any,
    ) -> Session:
        """Start a supervised session actor (and its tool registry actor) on `llm`.

        `tools`: @tool functions (or plain functions, or ToolDefinitions) the
        model may call; `max_iterations` bounds the tool rounds of one turn;
        `tool_timeout` is each tool call's default limit; `options`
        (temperature, max_tokens, …) apply to every model call. Returns at
        once. A crash restarts the session actor with its history intact.
        """
        if not isinstance(llm, LLM):
            raise ValidationError(f"session() needs an LLM from rt.create_llm(...), not {llm!r}")
        if isinstance(max_iterations, bool) or not isinstance(max_iterations, int):
            raise ValidationError(f"max_iterations must be an int >= 0 (got {max_iterations!r})")
        if max_iterations < 0:
            raise ValidationError(f"max_iterations must be >= 0 (got {max_iterations})")
        check_timeout(tool_timeout, "tool_timeout")
        # MCP servers' tools are followed: their list may change mid-session
        items: Iterable[object] = tools
        sources: list[McpTools] = []
        if isinstance(tools, Iterable) and not isinstance(tools, str | bytes | Mapping):
            found = list(tools)
            sources = [t for t in found if isinstance(t, McpTools)]
            items = [t for t in found if not isinstance(t, McpTools)]
            items = [*items, *(d for s in sources for d in s.tools)]
        definitions = coerce_tools(items)  # validate before starting anything
        llm.request("check", **options)  # options are checked like a call's
        sid = session_id or f"sess_{uuid.uuid4().hex[:16]}"
        state = SessionState(session_id=sid, system_prompt=system_prompt)
        root = self.actors.root
        from_sources = {s.source: tuple(d.name for d in s.tools) for s in sources}
        registry = root.spawn_nowait(
            lambda: ToolRegistry(definitions.values(), from_sources), name=f"session:{sid}:tools"
        )
        for source in sources:
            source.follow(registry)
        events = self.events.emitter(
            f"session:{sid}", session_id=sid, provider=llm.provider, model=llm.model
        )
        core = SessionCore(
            TurnContext(
                state=state,
                llm=llm,
                tools=registry,
                max_iterations=max_iterations,
                tool_timeout=tool_timeout,
                options=dict(options),
            ),
            events,
        )
        ref = root.spawn_nowait(lambda: SessionActor(core), name=f"session:{sid}", concurrency=None)
        events.emit_nowait(SessionCreated, system_prompt=system_prompt, tools=tuple(definitions))
        return Session(ref, registry, core, llm)

    @asynccontextmanager
    async def mcp_tools(
        self,
        command: Sequence[str] | None = None,
        *,
        url: str | None = None,
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        name: str | None = None,
        prefix: str = "",
        timeout: float | None = None,
        start_timeout: float = 30.0,
        max_output: int = 100_000,
    ) -> AsyncIterator[McpTools]:
        """Start (stdio `command`) or connect to (`url`, streamable HTTP) an MCP
        server as a supervised actor; yields its tools as `ToolDefinition`s,
        kept current, for `rt.session(..., tools=[server, ...])`.

        `headers`: sent with every request to a `url` server (e.g.
        `{"Authorization": "Bearer ..."}`; never logged or shown). `env`: a
        command's environment, over a minimal base (provider keys are not
        passed through unless named here). `prefix` goes before each
        tool's name; `timeout` bounds each call (else the session's
        tool_timeout). Raises ToolServerError (naming the command and its
        stderr tail) when the server does not start. Leaving the block stops
        the server. See docs/tools.md."""
        spec = McpServerSpec(
            command=command,
            url=url,
            headers=headers or {},
            env=env or {},
            cwd=cwd,
            name=name,
            start_timeout=start_timeout,
            max_output=max_output,
        )
        async with serve_mcp_client(self.actors, spec, prefix=prefix, timeout=timeout) as tools:
            yield tools

    def lookup(self, name: str) -> ActorRef:
        """The live actor called `name`; raises `ActorNotFound`."""
        return self.actors.lookup(name)

    def names(self) -> list[str]:
        """Names of every live actor."""
        return self.actors.names()


@asynccontextmanager
async def open_runtime(
    *,
    cancel_grace: float = 5.0,
    env: Mapping[str, str] | None = None,
    prices: Mapping[str, Mapping[str, Any] | Price] | PriceBook | None = None,
) -> AsyncIterator[Runtime]:
    """Open the runtime in the caller's task; it lives as long as the block.

    Embeds in any trio program: `async with open_runtime() as rt:`. Leaving
    the block cancels every actor it started and waits for them, so nothing
    outlives it (no task, socket or thread). There is no global state: two
    runtimes in one process are independent.

    `env` is where API keys and base URLs are looked up (default:
    `os.environ`); pass a dict to keep a runtime away from the process
    environment.

    `prices` overrides or adds prices per "provider/model" or model, in USD
    per 1M tokens (`{"my-model": {"input": 0.2, "output": 0.8}}`), over
    genai-prices' data set; or pass a `PriceBook` (see docs/routing.md).
    """
    require_trio("open_runtime()")
    book = prices if isinstance(prices, PriceBook) else PriceBook(prices)
    async with open_actor_system(cancel_grace=cancel_grace) as actors:
        runtime = Runtime(actors, os.environ if env is None else env, book)
        try:
            yield runtime
        finally:
            runtime.events.close()


def require_trio(call: str) -> None:
    """NotUnderTrio, saying what to do, unless a trio loop runs this task
    (trio's own error under asyncio is an AttributeError from its internals)."""
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            found = "outside any event loop"
        else:
            found = "under asyncio"
        raise NotUnderTrio(call, found) from None
