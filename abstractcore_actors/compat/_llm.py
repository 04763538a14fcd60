"""`create_llm` / `create_llm_async` and `CompatLLM`: one LLM, callable from
sync code and from trio or asyncio code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar, final

from .._providers import LLM
from ..sync import SyncLLM, SyncRuntime
from ..sync._bridge import refuse_inside_event_loop
from ..sync._cross_loop import RemoteStream, call_async, run_blocking
from ..types import Chunk, EmbeddingResponse
from ._events import CompatEvents

T = TypeVar("T")


@final
class CompatLLM:
    """AbstractCore's LLM interface over a runtime LLM (see the package doc).

    `generate(prompt, **options)` / `stream(...)` block; `generate_async` /
    `stream_async` are awaited from trio or asyncio. `options` are those of
    `LLM.generate` (`system_prompt`, `messages`, `tools`, `max_tokens`,
    `temperature`, `timeout`, ...). `events` is the runtime's event bus, with
    AbstractCore's `on` / `on_async` / `emit` / `emit_async`. `llm` is the
    runtime `LLM` itself, for the rest of this package's API.
    """

    def __init__(self, sync: SyncLLM, *, owns_runtime: bool) -> None:
        self._sync = sync
        self._runtime: SyncRuntime = sync._runtime
        self._owns_runtime = owns_runtime
        runtime = self._runtime._runtime
        assert runtime is not None
        self.events = CompatEvents(self._runtime, runtime.events)

    def __repr__(self) -> str:
        return f"<CompatLLM {self.provider}/{self.model}>"

    @property
    def llm(self) -> LLM:
        return self._sync._llm

    @property
    def provider(self) -> str:
        return self._sync.provider

    @property
    def model(self) -> str:
        return self._sync.model

    @property
    def runtime(self) -> SyncRuntime:
        """The runtime (on its own thread) every call of this LLM goes to."""
        return self._runtime

    # -- blocking -----------------------------------------------------------

    def generate(
        self,
        prompt: Any = None,
        *,
        stream: bool = False,
        response_model: Any = None,
        **options: Any,
    ) -> Any:
        """The answer (`GenerateResponse`); AbstractCore's forms too: with
        `stream=True` an iterator of chunks, with `response_model=M` the
        validated value (a `StructuredResult`'s `.value`)."""
        refuse_inside_event_loop("llm.generate(...)", "`await llm.generate_async(...)`")
        if stream:
            return self.stream(prompt, **options)
        if response_model is not None:
            return self._sync.generate_structured(
                prompt, response_model=response_model, **options
            ).value
        return self._runtime.run(self._settled, lambda: self.llm.generate(prompt, **options))

    async def _settled(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`, then the `on(...)` handlers' turn: they have seen the
        call's events when it returns, as AbstractCore's handlers have."""
        result = await call()
        await self.events.bus.handlers_done()
        return result

    def stream(self, prompt: Any = None, **options: Any) -> Iterator[Chunk]:
        refuse_inside_event_loop("llm.stream(...)", "`async for chunk in llm.stream_async(...)`")
        return self._sync.stream(prompt, **options)

    def embed(self, texts: Any, **options: Any) -> EmbeddingResponse:
        refuse_inside_event_loop("llm.embed(...)", "`await llm.embed_async(...)`")
        return self._sync.embed(texts, **options)

    # -- from trio or asyncio -------------------------------------------------

    async def generate_async(
        self,
        prompt: Any = None,
        *,
        stream: bool = False,
        response_model: Any = None,
        **options: Any,
    ) -> Any:
        """`generate`, awaited (`stream=True`: an async iterator of chunks;
        `response_model=M`: the validated value); cancelling the caller
        cancels the upstream call."""
        if stream:
            return self.stream_async(prompt, **options)
        if response_model is not None:
            from .._structured import generate_structured

            result = await call_async(
                self._runtime,
                lambda: generate_structured(
                    self.llm, prompt, response_model=response_model, **options
                ),
            )
            return result.value
        return await call_async(
            self._runtime, self._settled, lambda: self.llm.generate(prompt, **options)
        )

    agenerate = generate_async  # AbstractCore's newer name

    def stream_async(self, prompt: Any = None, **options: Any) -> RemoteStream:
        """Chunks as they come: `async for chunk in llm.stream_async(...)` (or
        `async with` it, to stop early without waiting for the collector)."""
        return RemoteStream(self._runtime, lambda: self.llm.stream(prompt, **options))

    async def embed_async(self, texts: Any, **options: Any) -> EmbeddingResponse:
        return await call_async(self._runtime, lambda: self.llm.embed(texts, **options))

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Stop its runtime (when it has its own: `create_llm`'s). Idempotent."""
        refuse_inside_event_loop("llm.close()", "`await llm.aclose()`")
        if self._owns_runtime:
            self._runtime.close()

    async def aclose(self) -> None:
        if self._owns_runtime:
            await run_blocking(self._runtime.close)

    def __enter__(self) -> CompatLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> CompatLLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def create_llm(
    provider: str,
    model: str | None = None,
    *,
    runtime: SyncRuntime | None = None,
    **options: Any,
) -> CompatLLM:
    """An LLM on a runtime of its own (a thread; `close()` it, or `with`), or
    on `runtime`, shared by several. In async code: `await create_llm_async(...)`."""
    refuse_inside_event_loop(
        "create_llm(...)", "`await abstractcore_actors.compat.create_llm_async(...)`"
    )
    return _create(provider, model, runtime, options)


async def create_llm_async(
    provider: str,
    model: str | None = None,
    *,
    runtime: SyncRuntime | None = None,
    **options: Any,
) -> CompatLLM:
    """`create_llm` from trio or asyncio code: the runtime's thread starts in a
    worker thread, so the caller's loop never blocks."""
    return await run_blocking(lambda: _create(provider, model, runtime, options))


def _create(
    provider: str, model: str | None, runtime: SyncRuntime | None, options: dict[str, Any]
) -> CompatLLM:
    owns = runtime is None
    shared = SyncRuntime() if runtime is None else runtime
    try:
        sync = shared.create_llm(provider, model, **options)
    except BaseException:
        if owns:
            shared.close()
        raise
    return CompatLLM(sync, owns_runtime=owns)
