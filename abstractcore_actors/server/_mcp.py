"""`serve_mcp`: tools served over MCP's streamable HTTP on this package's own
HTTP/1.1 server (what `abstractcore-actors mcp serve --http` runs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import trio

from .._mcp import mcp_server, open_http_app
from ..tools import ToolDefinition
from ._listener import serve_asgi


async def serve_mcp(
    tools: Mapping[str, ToolDefinition[..., Any]],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    shutdown: trio.Event,
    path: str = "/mcp",
    timeout: float | None = 30.0,
    allowed_hosts: Iterable[str] = (),
    graceful_timeout: float = 5.0,
    bearer_token: str | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `tools` at http://host:port/mcp until `shutdown` is set (open
    calls then get `graceful_timeout` seconds); `task_status.started` gets
    the bound port. `allowed_hosts` ("name:port" patterns, "*" for any
    port) are Host headers accepted besides local ones. With a
    `bearer_token`, every request must carry `Authorization: Bearer
    <token>` (else 401)."""
    server = mcp_server(tools, timeout=timeout)
    async with open_http_app(
        server, path=path, allowed_hosts=allowed_hosts, bearer_token=bearer_token
    ) as app:
        await serve_asgi(
            app,
            host,
            port,
            shutdown_trigger=shutdown.wait,
            graceful_timeout=graceful_timeout,
            task_status=task_status,
        )
