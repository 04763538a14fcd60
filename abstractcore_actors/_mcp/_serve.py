"""Serving tools over MCP: `@tool` functions (any `ToolDefinition`s) as an MCP
server, for any MCP client (`abstractcore-actors mcp serve`).

The server is the SDK's low-level `Server` with two handlers: `tools/list`
gives each tool's own JSON schema (the one a model is shown), and
`tools/call` runs the call through `run_tool_calls`, the same path a
session's tool calls take: arguments checked against the schema, sync tools
in worker threads, the timeout, and every failure a result with `isError`
set whose text tells the model what to fix (MCP's rule: tool errors are
results, so the model can correct itself). Only a name the server does not
have is a protocol error. A client's `notifications/cancelled` cancels the
handler, and with it the tool.
"""

from __future__ import annotations

import hmac
import importlib
import json
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from .._tools import ToolDefinition, coerce_tools, run_tool_calls
from ..errors import ValidationError
from ..events import EventBus, ToolProgress
from ..types import ToolCall

SERVER_NAME = "abstractcore-actors"


def load_tools(targets: Iterable[str]) -> dict[str, ToolDefinition[..., Any]]:
    """Tools named as `module:attr` (a tool, a function, or a list of them) or
    `module` (every `@tool` at its top level); the current directory is on
    the import path, as for `python -m`. Raises ValidationError saying what
    to pass instead."""
    found: list[object] = []
    for target in targets:
        module_name, _, attr = target.partition(":")
        if not module_name:
            raise ValidationError(f"--tools {target!r}: name a module, e.g. my_tools:tools")
        if str(Path.cwd()) not in sys.path:
            # last: a file here must not shadow an installed package (an mcp.py would)
            sys.path.append(str(Path.cwd()))
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValidationError(
                f"--tools {target!r}: cannot import {module_name!r} ({exc}); run from the "
                "directory that holds it, or install it"
            ) from None
        if not attr:
            tools = [v for v in vars(module).values() if isinstance(v, ToolDefinition)]
            if not tools:
                raise ValidationError(
                    f"--tools {target!r}: the module has no @tool functions at its top "
                    "level; decorate some with @tool, or name a list: module:attr"
                )
            found.extend(tools)
            continue
        try:
            value = getattr(module, attr)
        except AttributeError:
            raise ValidationError(f"--tools {target!r}: {module_name} has no {attr!r}") from None
        if isinstance(value, ToolDefinition) or callable(value):
            found.append(value)
        elif isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping):
            found.extend(value)
        else:
            raise ValidationError(
                f"--tools {target!r} is {type(value).__name__}: name a @tool function or a "
                "list of them"
            )
    return coerce_tools(found)


def mcp_server(
    tools: Mapping[str, ToolDefinition[..., Any]],
    *,
    name: str = SERVER_NAME,
    timeout: float | None = 30.0,
) -> Any:
    """An MCP `Server` (the SDK's low-level one) offering `tools`; each call
    limited by its tool's timeout, else `timeout`."""
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.shared.exceptions import MCPError

    progress_bus = EventBus()
    listed = types.ListToolsResult(
        tools=[
            types.Tool(
                name=definition.name,
                description=definition.description or None,
                input_schema=dict(definition.spec.parameters),
            )
            for definition in tools.values()
        ]
    )

    async def on_list_tools(ctx: Any, params: Any) -> Any:
        return listed

    async def on_call_tool(ctx: Any, params: Any) -> Any:
        if params.name not in tools:
            raise MCPError(
                types.INVALID_PARAMS,
                f"unknown tool {params.name!r}; this server has: {', '.join(tools) or 'none'}",
            )
        arguments = params.arguments or {}
        call = ToolCall(
            id=str(ctx.request_id),
            name=params.name,
            arguments=arguments,
            raw_arguments=json.dumps(arguments),
        )
        token = (ctx.meta or {}).get("progress_token")
        if token is None:
            [result] = await run_tool_calls([call], tools, timeout=timeout)
        else:  # the tool's ctx.progress(...) reports, as MCP progress notifications
            emitter = progress_bus.emitter(f"mcp-{call.id}")
            async with (
                progress_bus.subscribe(ToolProgress, request_id=emitter.request_id) as progress,
                trio.open_nursery() as nursery,
            ):
                nursery.start_soon(_report_progress, progress, ctx, token)
                [result] = await run_tool_calls([call], tools, timeout=timeout, emitter=emitter)
                progress.end()  # what is queued is sent before the result
        text = result.content if result.error is None else _without_name(result.error, call.name)
        return types.CallToolResult(
            content=[types.TextContent(text=text)], is_error=result.error is not None
        )

    return Server(
        name,
        version=_version(),
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("abstractcore-actors")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "0"


async def serve_stdio(server: Any) -> None:
    """Serve one client on this process's stdin/stdout until it closes them."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


@asynccontextmanager
async def open_http_app(
    server: Any,
    *,
    path: str = "/mcp",
    allowed_hosts: Iterable[str] = (),
    bearer_token: str | None = None,
) -> AsyncIterator[Any]:
    """An ASGI app serving `server` over streamable HTTP at `path` (404
    elsewhere), for as long as the block runs. Requests whose Host header is
    not local (or one of `allowed_hosts`) are refused: DNS-rebinding
    protection, as the MCP spec asks of local servers. With a
    `bearer_token`, a request without `Authorization: Bearer <token>` is a
    401 (the token compared in constant time, never logged)."""
    if bearer_token is not None and not bearer_token.strip():
        raise ValidationError("bearer_token must not be empty: give a secret, or None")
    expected = None if bearer_token is None else f"Bearer {bearer_token}".encode()
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", *allowed_hosts]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        allowed_origins=[f"http://{host}" for host in hosts]
        + [f"https://{host}" for host in hosts],
    )
    manager = StreamableHTTPSessionManager(app=server, security_settings=security)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].rstrip("/") != path.rstrip("/"):
            await _send_json(send, 404, {"error": f"not found: the MCP endpoint is {path}"})
            return
        if expected is not None and not _authorized(scope, expected):
            # a JSON-RPC error: an MCP client shows its message, not "an error response"
            await _send_json(send, 401, _REFUSAL, [(b"www-authenticate", b"Bearer")])
            return
        await manager.handle_request(scope, receive, send)

    async with manager.run():
        yield app


_REFUSAL = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {
        "code": -32001,  # a JSON-RPC server error
        "message": "this MCP server needs a token: send the header Authorization: Bearer <token>",
    },
}


def _authorized(scope: dict[str, Any], expected: bytes) -> bool:
    sent = [v for k, v in scope["headers"] if k.lower() == b"authorization"]
    return len(sent) == 1 and hmac.compare_digest(sent[0], expected)


async def _send_json(
    send: Any, status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    head = [(b"content-type", b"application/json"), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def _without_name(error: str, tool: str) -> str:
    # The caller knows which tool it called, and a runtime on the other side
    # says "tool NAME failed: " itself: sent with it, the model read it twice.
    return error.removeprefix(f"tool {tool} failed: ")


async def _report_progress(progress: Any, ctx: Any, token: str | int) -> None:
    # MCP's progress must grow with each notification, and it has no
    # fraction: `progress` counts the reports, and `total` is set so that
    # progress / total is the tool's fraction (when it gave one above 0).
    # The request's id sends it on that request's stream (streamable HTTP).
    count = 0
    async for event in progress:
        count += 1
        await ctx.session.send_progress_notification(
            token,
            count,
            count / event.fraction if event.fraction else None,
            event.message or None,
            related_request_id=ctx.request_id,
        )
