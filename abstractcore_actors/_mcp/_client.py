"""`McpClient`: one MCP server, as a supervised actor.

The actor owns the connection: a background task (in the actor's nursery)
starts the server (stdio) or connects to it (streamable HTTP) with the
official `mcp` SDK, initializes the session, lists its tools and keeps the
session open; each `CallTool` is a message, answered in its own task, so
calls run in parallel and cancelling one (its asker left, or its timeout
passed) cancels the SDK's request, which sends the server MCP's
`notifications/cancelled`.

Faults: a server that never starts answers every `ListTools` with a
`ToolServerError` naming the command and its stderr tail. One that dies
later fails the call in flight (its caller's tool result says so) and
crashes the actor, which its supervisor restarts with the usual restart
intensity: the next call finds a fresh server. One that exits while idle is
noticed when its output ends, and restarted the same way. `notifications/tools/
list_changed` re-lists the tools and hands the new list to `on_tools`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import attrs
import trio

from .._kernel import ActorContext, Behaviour, UnhandledMessage
from ..errors import ToolServerError
from ._spec import McpServerSpec

log = logging.getLogger("abstractcore_actors.mcp")

#: (progress, total, message) of one progress notification, as the SDK gives them
ProgressCallback: TypeAlias = Callable[[float, float | None, str | None], Awaitable[None]]

_HTTP_TIMEOUT = 30.0  # seconds to connect, write, or wait for a pooled connection
_HTTP_STREAM_TIMEOUT = 300.0  # between two bytes of a response stream
_CONNECTION_CLOSED = -32000  # the SDK's code for a transport that closed
_STDERR_TAIL = 2000  # characters of a failed server's stderr kept in the error


@attrs.frozen
class McpTool:
    """One tool as the server describes it."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


@attrs.frozen
class ListTools:
    """Ask for the server's tools (waits until the server is up)."""


@attrs.frozen
class CallTool:
    """Call one tool; the answer is a `CallToolResult` of the SDK."""

    name: str
    arguments: Mapping[str, Any]
    # the server's progress notifications for this call, as the SDK reports them
    on_progress: ProgressCallback | None = None


class McpClient(Behaviour):
    reply_errors = (ToolServerError,)

    def __init__(
        self, spec: McpServerSpec, on_tools: Callable[[tuple[McpTool, ...]], None]
    ) -> None:
        self.spec = spec
        self._on_tools = on_tools

    async def started(self, ctx: ActorContext) -> None:
        self._session: Any = None
        self._tools: tuple[McpTool, ...] = ()
        self._ready = trio.Event()
        self._failure: ToolServerError | None = None
        self._died = trio.Event()
        self._death: ToolServerError | None = None
        self._changed = trio.Event()
        self._calls = 0  # calls in flight
        ctx.start_soon(self._connect)

    async def receive(self, message: object, ctx: ActorContext) -> Any:
        match message:
            case ListTools():
                await self._ready.wait()
                if self._failure is not None:
                    raise self._failure
                return self._tools
            case CallTool(name=name, arguments=arguments, on_progress=on_progress):
                await self._ready.wait()
                if self._failure is not None:
                    raise self._failure
                return await self._call(name, dict(arguments), on_progress)
            case _:
                raise UnhandledMessage(ctx.name, message)

    async def _call(
        self, name: str, arguments: dict[str, Any], on_progress: ProgressCallback | None
    ) -> Any:
        from mcp.shared.exceptions import MCPError

        self._calls += 1
        try:
            return await self._session.call_tool(name, arguments, progress_callback=on_progress)
        except MCPError as exc:
            if exc.error.code != _CONNECTION_CLOSED:
                raise ToolServerError(f"{self.spec.label}: {exc.error.message}") from None
            death = ToolServerError(
                f"{self.spec.label} stopped during the call ({exc.error.message}); "
                "it is being restarted"
            )
            self._death = death
            self._died.set()  # the connection task crashes the actor: a restart
            raise death from None
        finally:
            self._calls -= 1

    async def _connect(self) -> None:
        import anyio  # the SDK's streams (mcp depends on it)
        from mcp import ClientSession

        with tempfile.TemporaryFile(mode="w+") as errlog:
            try:
                async with (
                    _transport(self.spec, errlog) as (raw_read, write),
                    trio.open_nursery() as nursery,
                ):
                    read_send, read = anyio.create_memory_object_stream[Any](0)
                    nursery.start_soon(self._forward, raw_read, read_send)
                    async with ClientSession(
                        read, write, message_handler=self._on_message
                    ) as session:
                        with trio.fail_after(self.spec.start_timeout):
                            await session.initialize()
                            self._tools = await _list(session)
                        self._session = session
                        self._ready.set()
                        self._on_tools(self._tools)
                        nursery.start_soon(self._follow_changes, session)
                        await self._died.wait()
                    nursery.cancel_scope.cancel()
            except BaseException as exc:
                if _only_cancelled(exc):
                    raise
                failure = _failure(self.spec, exc, errlog, self._death)
            else:
                if self._death is None:
                    return
                failure = self._death  # a call saw it die: crash, and be restarted
        if not self._ready.is_set():
            self._failure = failure  # never started: every ask says why, no restart loop
            self._ready.set()
            return
        raise failure  # it died after starting: crash, and be restarted

    async def _forward(self, raw_read: Any, read_send: Any) -> None:
        """Pass the server's messages on to the session, and notice when they
        end: a server that exits while idle is restarted before the next call
        finds it gone (calls in flight then say so themselves, in `_call`)."""
        async with read_send:
            async for item in raw_read:
                await read_send.send(item)
        if self._ready.is_set() and not self._calls:
            self._death = ToolServerError(f"{self.spec.label} exited; it is being restarted")
            self._died.set()

    async def _on_message(self, message: object) -> None:
        from mcp_types import ToolListChangedNotification

        if isinstance(message, ToolListChangedNotification):
            self._changed.set()  # no session I/O inside the SDK's handler

    async def _follow_changes(self, session: Any) -> None:
        while True:
            await self._changed.wait()
            self._changed = trio.Event()
            self._tools = await _list(session)
            self._on_tools(self._tools)


async def _list(session: Any) -> tuple[McpTool, ...]:
    result = await session.list_tools()
    return tuple(
        McpTool(
            name=tool.name,
            description=tool.description or "",
            input_schema=dict(tool.input_schema or {"type": "object", "properties": {}}),
        )
        for tool in result.tools
    )


@asynccontextmanager
async def _transport(spec: McpServerSpec, errlog: Any) -> AsyncIterator[tuple[Any, Any]]:
    if spec.url is not None:
        import httpx2  # the SDK's HTTP client
        from mcp.client.streamable_http import streamable_http_client

        # The SDK's default client, with our headers: its timeouts (a server
        # may hold a response stream open for minutes) and no redirects.
        timeout = httpx2.Timeout(_HTTP_TIMEOUT, read=_HTTP_STREAM_TIMEOUT)
        async with (
            httpx2.AsyncClient(headers=dict(spec.headers), timeout=timeout) as http,
            streamable_http_client(spec.url, http_client=http) as streams,
        ):
            yield streams[0], streams[1]
        return
    from mcp import StdioServerParameters, stdio_client

    assert spec.command is not None
    params = StdioServerParameters(
        command=spec.command[0], args=list(spec.command[1:]), env=dict(spec.env), cwd=spec.cwd
    )
    async with stdio_client(params, errlog=errlog) as streams:
        yield streams[0], streams[1]


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_cancelled(e) for e in exc.exceptions)
    return isinstance(exc, trio.Cancelled)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        found = [e for e in exc.exceptions if not isinstance(e, trio.Cancelled)]
        exc = (found or list(exc.exceptions))[0]
    return exc


def _failure(
    spec: McpServerSpec, exc: BaseException, errlog: Any, death: ToolServerError | None
) -> ToolServerError:
    if death is not None:
        return death
    leaf = _leaf(exc)
    errlog.seek(0)
    tail = errlog.read()[-_STDERR_TAIL:].strip()
    if isinstance(leaf, trio.TooSlowError):
        what = f"did not start within {spec.start_timeout:g} s"
    elif isinstance(leaf, FileNotFoundError):
        what = f"cannot be started: {leaf}"
    else:
        what = f"failed: {type(leaf).__name__}: {leaf}"
    message = f"{spec.label} {what}"
    if tail:
        message += f"; its stderr ends with:\n{tail}"
    log.warning("%s", message)
    return ToolServerError(message)
