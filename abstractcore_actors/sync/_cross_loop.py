"""Awaiting the runtime's thread from another event loop (trio or asyncio).

The sync facade's runtime runs trio on a thread of its own. `call_async`
lets code on *another* loop — a trio app, or asyncio (FastAPI on uvicorn,
Gradio, Jupyter) — await a call on it without blocking its loop: the call
starts as a task in the runtime's nursery, and its outcome wakes the caller
through the caller's own loop (trio: its token; asyncio:
`call_soon_threadsafe`, via `wrap_future`).

Cancel is structured across the two loops: when the caller is cancelled
(trio.Cancelled, asyncio.CancelledError) the remote task is cancelled too,
and the caller waits, shielded, until it has ended, so nothing it started
outlives it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import sniffio
import trio

if TYPE_CHECKING:
    from . import SyncRuntime

T = TypeVar("T")


class _Remote:
    """One call on the runtime's loop, for a caller on another loop."""

    def __init__(self, runtime: SyncRuntime) -> None:
        self.runtime = runtime
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._scope: trio.CancelScope | None = None
        self._cancelled = False

    def start(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        runtime = self.runtime
        if runtime.closed or runtime._token is None or runtime._nursery is None:
            raise RuntimeError("this runtime is closed; make a new one")
        nursery = runtime._nursery

        async def run() -> None:
            with trio.CancelScope() as scope:
                self._scope = scope
                if self._cancelled:
                    scope.cancel()
                try:
                    self.future.set_result(await fn(*args))
                except trio.Cancelled:
                    self.future.cancel()
                    raise
                except BaseException as exc:
                    self.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                return
            self.future.cancel()  # cancelled by our own scope: the caller left

        try:
            runtime._token.run_sync_soon(nursery.start_soon, run)
        except trio.RunFinishedError:
            raise RuntimeError("this runtime is closed; make a new one") from None

    def cancel(self) -> None:
        """From any thread: cancel the remote task (or keep it from starting)."""

        def cancel_there() -> None:
            self._cancelled = True
            if self._scope is not None:
                self._scope.cancel()

        token = self.runtime._token
        if token is not None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(cancel_there)


async def call_async(runtime: SyncRuntime, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`await fn(*args)` on `runtime`'s loop, from a trio or asyncio caller."""
    remote = _Remote(runtime)
    remote.start(fn, *args)
    library = sniffio.current_async_library()
    if library == "trio":
        await _wait_trio(remote)
    elif library == "asyncio":
        await _wait_asyncio(remote)
    else:
        remote.cancel()
        raise RuntimeError(f"cannot await the runtime from {library}: use trio or asyncio")
    try:
        result: T = remote.future.result()
    except concurrent.futures.CancelledError:
        raise RuntimeError("the runtime closed during the call") from None
    return result


async def _wait_trio(remote: _Remote) -> None:
    token = trio.lowlevel.current_trio_token()
    done = trio.Event()

    def wake(_: object) -> None:
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(done.set)

    remote.future.add_done_callback(wake)
    try:
        await done.wait()
    except trio.Cancelled:
        remote.cancel()
        with trio.CancelScope(shield=True):
            await done.wait()  # the remote task has ended: nothing outlives us
        raise


async def _wait_asyncio(remote: _Remote) -> None:
    waiting = asyncio.wrap_future(remote.future)
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        remote.cancel()
        with contextlib.suppress(BaseException):
            await waiting  # the remote task has ended: nothing outlives us
        raise
    except BaseException:
        pass  # its outcome is read from the future by the caller


async def run_blocking(fn: Callable[[], T]) -> T:
    """`fn()` (which blocks) in a worker thread of the caller's loop, trio or asyncio."""
    if sniffio.current_async_library() == "trio":
        return await trio.to_thread.run_sync(fn)
    return await asyncio.to_thread(fn)


_Opened = tuple[trio.MemoryReceiveChannel[Any], trio.CancelScope, list[BaseException]]


class RemoteStream:
    """An async iterator, on the caller's loop, over a stream that runs on the
    runtime's loop: `async for item in s`, or `async with s:`. Ending early
    (break inside `async with`, `aclose()`, an exception) cancels the stream
    on the runtime's side; so does dropping the iterator unclosed."""

    def __init__(
        self,
        runtime: SyncRuntime,
        open_stream: Callable[[], AbstractAsyncContextManager[AsyncIterator[Any]]],
    ) -> None:
        self._runtime = runtime
        self._open_stream = open_stream
        self._opened: tuple[trio.MemoryReceiveChannel[Any], trio.CancelScope, list[Any]] | None = (
            None
        )
        self._done = False

    def __aiter__(self) -> RemoteStream:
        return self

    async def __aenter__(self) -> RemoteStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        runtime = self._runtime
        if self._opened is None:
            self._opened = await call_async(runtime, runtime._open_stream, self._open_stream)
        opened: _Opened = self._opened  # type: ignore[assignment]  # set just above
        receive, _, errors = opened
        try:
            return await call_async(runtime, receive.receive)
        except trio.EndOfChannel:
            await self.aclose()
            if errors:
                raise errors[0] from None
            raise StopAsyncIteration from None
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop the stream (cancels the upstream call if it is still running)."""
        if self._done:
            return
        self._done = True
        opened, self._opened = self._opened, None
        if opened is None:
            return
        receive, scope, _ = opened
        token = self._runtime._token
        if token is not None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(scope.cancel)
        with contextlib.suppress(RuntimeError):
            await call_async(self._runtime, receive.aclose)

    def __del__(self) -> None:
        # dropped without being closed (a `break` outside `async with`): stop it there
        opened = self._opened
        token = self._runtime._token
        if opened is not None and token is not None:
            with contextlib.suppress(trio.RunFinishedError, RuntimeError):
                token.run_sync_soon(functools.partial(_close_there, opened[0], opened[1]))


def _close_there(receive: trio.MemoryReceiveChannel[Any], scope: trio.CancelScope) -> None:
    scope.cancel()
    receive.close()
