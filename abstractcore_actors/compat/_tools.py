"""`execute_tool` / `execute_tool_async`: run one tool call as a session would
(arguments checked, timeout, every failure a `ToolResult` error)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._tools import coerce_tools, run_tool_calls
from ..sync import SyncRuntime
from ..sync._bridge import refuse_inside_event_loop
from ..sync._cross_loop import call_async
from ..types import ToolCall, ToolResult


async def _run(call: ToolCall, tools: Iterable[object], timeout: float | None) -> ToolResult:
    [result] = await run_tool_calls([call], coerce_tools(tools), timeout=timeout)
    return result


def execute_tool(
    tool_call: ToolCall,
    tools: Iterable[object],
    *,
    runtime: SyncRuntime,
    timeout: float | None = 30.0,
) -> ToolResult:
    """Run `tool_call` with one of `tools` (@tool functions or plain ones) on
    `runtime` (e.g. `llm.runtime`); blocking."""
    refuse_inside_event_loop("execute_tool(...)", "`await execute_tool_async(...)`")
    return runtime.run(_run, tool_call, list(tools), timeout)


async def execute_tool_async(
    tool_call: ToolCall,
    tools: Iterable[object],
    *,
    runtime: SyncRuntime | None = None,
    timeout: float | None = 30.0,
) -> ToolResult:
    """`execute_tool`, awaited. Without `runtime`, in a trio caller, the tool
    runs on the caller's own loop; otherwise on `runtime`'s (tools are trio
    or sync functions: an asyncio coroutine function cannot run there)."""
    listed: list[Any] = list(tools)
    if runtime is None:
        import sniffio

        if sniffio.current_async_library() != "trio":
            raise RuntimeError(
                "execute_tool_async from asyncio needs runtime= (e.g. llm.runtime): "
                "the tools run on the runtime's trio loop"
            )
        return await _run(tool_call, listed, timeout)
    return await call_async(runtime, _run, tool_call, listed, timeout)
