"""`@tool` functions that tests/mcp/test_mcp_serve.py serves over MCP with
`abstractcore-actors mcp serve --tools tests.mcp.served_tools`.
Events go to the file named by $MCP_TEST_LOG, one per line."""

from __future__ import annotations

import os

import trio

from abstractcore_actors import tool
from abstractcore_actors.tools import ToolContext


def _log(event: str) -> None:
    path = os.environ.get("MCP_TEST_LOG")
    if path:
        with open(path, "a") as out:
            out.write(event + "\n")


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: the first factor
        b: the second factor
    """
    return a * b


@tool
async def wait(seconds: float) -> str:
    """Wait for `seconds`, then say so."""
    _log("wait started")
    try:
        await trio.sleep(seconds)
    except trio.Cancelled:
        _log("wait cancelled")
        raise
    return f"waited {seconds}"


@tool
def refuse(reason: str) -> str:
    """Always fails, with `reason`."""
    raise PermissionError(reason)


@tool(timeout=0.2)
async def stuck() -> str:
    """Never answers in time."""
    await trio.sleep_forever()
    return "never"


@tool
def index(paths: list[str], ctx: ToolContext) -> int:
    """Index files, reporting progress (a sync tool: from its worker thread)."""
    ctx.progress("starting")
    for done, path in enumerate(paths, 1):
        ctx.progress(f"indexed {path}", fraction=done / len(paths))
    return len(paths)


only_multiply = [multiply]
not_tools = 42
