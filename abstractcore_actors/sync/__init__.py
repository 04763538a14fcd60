"""The sync facade: the async runtime on a worker thread, for scripts and sync code.

    from abstractcore_actors.sync import create_llm

    llm = create_llm("local")
    print(llm.generate("Hi", max_tokens=20).content)
    for chunk in llm.stream("Tell a story", max_tokens=50):
        print(chunk.text, end="")
    llm.close()

A thin loop over the one async implementation, not a copy: every call is
`trio.from_thread.run` into a `Runtime` that lives on its own thread. Called
from inside a running trio or asyncio loop, each blocking call raises
`SyncCalledFromAsync`, naming the async call to use instead.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar, final

import trio

from .._providers import LLM
from .._structured import (
    PartialsThenResult,
    StructuredResult,
    SyncStructuredStream,
    generate_structured,
    stream_structured,
)
from ..errors import ValidationError
from ..runtime import Runtime, open_runtime
from ..types import Chunk, EmbeddingResponse, GenerateResponse
from ._bridge import iterate as _iterate
from ._bridge import refuse_inside_event_loop as _refuse_inside_event_loop
from ._session import SyncSession

T = TypeVar("T")


@final
class SyncRuntime:
    """An async `Runtime` on a dedicated thread. Close it (or use `with`) when done."""

    def __init__(self, *, env: Mapping[str, str] | None = None) -> None:
        _refuse_inside_event_loop(
            "abstractcore_actors.sync.SyncRuntime()",
            "`async with abstractcore_actors.open_runtime() as rt:`",
        )
        self._ready = threading.Event()
        self._runtime: Runtime | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._closing: trio.Event | None = None
        self._nursery: trio.Nursery | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(env,), name="abstractcore-actors-sync", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        self._finalizer = weakref.finalize(
            self, _shutdown, self._token, self._closing, self._thread
        )

    def _run(self, env: Mapping[str, str] | None) -> None:
        try:
            trio.run(self._main, env)
        except BaseException as exc:  # surfaced to the constructor
            self._failure = exc
            self._ready.set()

    async def _main(self, env: Mapping[str, str] | None) -> None:
        self._closing = trio.Event()
        self._token = trio.lowlevel.current_trio_token()
        async with open_runtime(env=env) as runtime, trio.open_nursery() as nursery:
            self._runtime = runtime
            self._nursery = nursery
            self._ready.set()
            await self._closing.wait()
            nursery.cancel_scope.cancel()

    @property
    def closed(self) -> bool:
        return not self._thread.is_alive()

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run `await fn(*args)` on the runtime's thread and return its result.

        Ctrl-C (KeyboardInterrupt) cancels the call before re-raising.
        """
        if self.closed:
            raise RuntimeError("this SyncRuntime is closed; make a new one")
        scope_box: list[trio.CancelScope] = []

        async def cancellable() -> T:
            with trio.CancelScope() as scope:
                scope_box.append(scope)
                return await fn(*args)
            raise trio.Cancelled._create()  # pragma: no cover - only after our own cancel

        try:
            return trio.from_thread.run(cancellable, trio_token=self._token)
        except KeyboardInterrupt:
            if scope_box:
                trio.from_thread.run_sync(scope_box[0].cancel, trio_token=self._token)
            raise

    def create_llm(self, provider: str, model: str | None = None, **options: Any) -> SyncLLM:
        """Like `Runtime.create_llm`, returning a blocking handle."""
        _refuse_inside_event_loop(
            "abstractcore_actors.sync create_llm(...)", "`rt.create_llm(...)` in open_runtime()"
        )
        runtime = self._runtime
        assert runtime is not None
        llm = trio.from_thread.run_sync(
            lambda: runtime.create_llm(provider, model, **options), trio_token=self._token
        )
        return SyncLLM(llm, self)

    def close(self) -> None:
        """Stop every actor and the thread. Idempotent."""
        self._finalizer()

    def __enter__(self) -> SyncRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(
        self, llm: SyncLLM, system_prompt: str | None = None, tools: Any = (), **options: Any
    ) -> SyncSession:
        """Like `Runtime.session`, returning a blocking handle (same arguments)."""
        _refuse_inside_event_loop("SyncRuntime.session(...)", "`rt.session(...)`")
        if llm._runtime is not self:
            raise ValidationError("session() needs an LLM made by this SyncRuntime's create_llm")
        runtime = self._runtime
        assert runtime is not None
        session = trio.from_thread.run_sync(
            lambda: runtime.session(llm._llm, system_prompt, tools, **options),
            trio_token=self._token,
        )
        return SyncSession(session, self)

    async def _open_stream(
        self, open_stream: Callable[[], AbstractAsyncContextManager[AsyncIterator[Any]]]
    ) -> tuple[trio.MemoryReceiveChannel[Any], trio.CancelScope, list[BaseException]]:
        """Start a task that pumps one stream into a channel the caller's thread reads."""
        send, recv = trio.open_memory_channel[Any](0)
        errors: list[BaseException] = []

        async def pump(task_status: trio.TaskStatus[trio.CancelScope]) -> None:
            with trio.CancelScope() as scope:
                task_status.started(scope)
                async with send:
                    try:
                        async with open_stream() as stream:
                            async for chunk in stream:
                                await send.send(chunk)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass  # the reader left
                    except Exception as exc:
                        errors.append(exc)

        assert self._nursery is not None
        scope = await self._nursery.start(pump)
        return recv, scope, errors


def _shutdown(
    token: trio.lowlevel.TrioToken | None,
    closing: trio.Event | None,
    thread: threading.Thread,
) -> None:
    if token is not None and closing is not None and thread.is_alive():
        with contextlib.suppress(trio.RunFinishedError):
            trio.from_thread.run_sync(closing.set, trio_token=token)
    if thread is not threading.current_thread():
        thread.join()


@final
class SyncLLM:
    """Blocking twin of `LLM`: the same calls, returning values instead of awaitables."""

    def __init__(self, llm: LLM, runtime: SyncRuntime, *, owns_runtime: bool = False) -> None:
        self._llm = llm
        self._runtime = runtime
        self._owns_runtime = owns_runtime

    def __repr__(self) -> str:
        return f"<SyncLLM {self._llm.provider}/{self._llm.model}>"

    @property
    def provider(self) -> str:
        return self._llm.provider

    @property
    def model(self) -> str:
        return self._llm.model

    def generate(self, *args: Any, **kwargs: Any) -> GenerateResponse:
        """`LLM.generate`, blocking. Same arguments, same errors."""
        _refuse_inside_event_loop("SyncLLM.generate(...)", "`await llm.generate(...)`")
        return self._runtime.run(lambda: self._llm.generate(*args, **kwargs))

    def embed(self, *args: Any, **kwargs: Any) -> EmbeddingResponse:
        """`LLM.embed`, blocking. Same arguments, same errors."""
        _refuse_inside_event_loop("SyncLLM.embed(...)", "`await llm.embed(...)`")
        return self._runtime.run(lambda: self._llm.embed(*args, **kwargs))

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Chunk]:
        """`LLM.stream`, as an iterator of chunks. Stopping early (break, close,
        an exception) cancels the upstream call and closes its connection."""
        _refuse_inside_event_loop(
            "SyncLLM.stream(...)", "`async with llm.stream(...) as s: async for chunk in s`"
        )
        return self._iterate(args, kwargs)

    def _iterate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[Chunk]:
        return _iterate(self._runtime, lambda: self._llm.stream(*args, **kwargs))

    def generate_structured(
        self, prompt: Any = None, *, response_model: Any, **options: Any
    ) -> StructuredResult[Any]:
        """`generate_structured(llm, ...)`, blocking: same arguments (including
        `concurrent=True` with `attempts=k`), same result and errors."""
        _refuse_inside_event_loop(
            "SyncLLM.generate_structured(...)",
            "`await abstractcore_actors.generate_structured(llm, ...)`",
        )
        return self._runtime.run(
            lambda: generate_structured(self._llm, prompt, response_model=response_model, **options)
        )

    def stream_structured(
        self, prompt: Any = None, *, response_model: Any, **options: Any
    ) -> SyncStructuredStream:
        """`stream_structured(llm, ...)`, blocking: `for partial in s:` then
        `s.result()`. Stopping early (break, `close()`, leaving `with s:`)
        cancels the upstream call and closes its connection."""
        _refuse_inside_event_loop(
            "SyncLLM.stream_structured(...)",
            "`async with abstractcore_actors.stream_structured(llm, ...) as s`",
        )

        @asynccontextmanager
        async def partials() -> AsyncIterator[PartialsThenResult]:
            async with stream_structured(
                self._llm, prompt, response_model=response_model, **options
            ) as stream:
                yield PartialsThenResult(stream)

        return SyncStructuredStream(_iterate(self._runtime, partials))

    def close(self) -> None:
        """Close the private runtime this handle owns (from `sync.create_llm`)."""
        if self._owns_runtime:
            self._runtime.close()

    def __enter__(self) -> SyncLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def create_llm(provider: str, model: str | None = None, **options: Any) -> SyncLLM:
    """A blocking LLM on a private runtime; `close()` it (or use `with`) when done.

    To share one runtime (one thread) between several LLMs, use
    `SyncRuntime()` and its `create_llm`.
    """
    _refuse_inside_event_loop(
        "abstractcore_actors.sync.create_llm(...)",
        "`async with open_runtime() as rt: llm = rt.create_llm(...)`",
    )
    runtime = SyncRuntime()
    try:
        llm = runtime.create_llm(provider, model, **options)
    except BaseException:
        runtime.close()
        raise
    return SyncLLM(llm._llm, runtime, owns_runtime=True)


__all__ = [
    "LLM",
    "Chunk",
    "EmbeddingResponse",
    "GenerateResponse",
    "PartialsThenResult",
    "Runtime",
    "StructuredResult",
    "SyncLLM",
    "SyncRuntime",
    "SyncSession",
    "SyncStructuredStream",
    "T",
    "ValidationError",
    "create_llm",
    "generate_structured",
    "open_runtime",
    "stream_structured",
]
