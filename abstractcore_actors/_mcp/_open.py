"""`serve_mcp_client`: one MCP server's client actor for the length of a
block (what `rt.mcp_tools(...)` runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from .._kernel import ActorSystem, GiveUp
from ._client import ListTools, McpClient
from ._spec import McpServerSpec
from ._tools import McpTools


@asynccontextmanager
async def serve_mcp_client(
    actors: ActorSystem, spec: McpServerSpec, *, prefix: str, timeout: float | None
) -> AsyncIterator[McpTools]:
    """Spawn the client actor under the runtime's root (restarted when it
    crashes), wait for the server's tools (ToolServerError if it never
    started), yield them, and stop the server on the way out."""
    tools = McpTools(spec, prefix=prefix, timeout=timeout)
    label = spec.name or spec.url or (spec.command or ("?",))[0]
    ref = actors.root.spawn_nowait(
        lambda: McpClient(spec, tools.update),
        name=actors.free_name(f"mcp:{label}"),
        concurrency=None,
        give_up=GiveUp.BACK_OFF,
    )
    tools.attach(ref)
    try:
        await ref.ask(ListTools())
        yield tools
    finally:
        with trio.CancelScope(shield=True):
            await ref.stop()
