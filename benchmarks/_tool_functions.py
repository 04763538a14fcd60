"""The tools benchmarks/mcp_tools.py calls, locally and served over MCP by
`abstractcore-actors mcp serve --tools _tool_functions` (from this folder)."""

from __future__ import annotations

import trio

from abstractcore_actors import tool


@tool
async def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def pause(seconds: float) -> str:
    """Wait `seconds` (a tool that waits on something outside)."""
    await trio.sleep(seconds)
    return "done"
