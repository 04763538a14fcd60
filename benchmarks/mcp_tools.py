"""Tool calls through MCP: what the protocol costs per call, and 100 calls in
parallel from one model turn.

The same two `@tool` functions (benchmarks/_tool_functions.py) are called through
`run_tool_calls` — the path a session's tool calls take — three ways, side
by side in this process:

- local: the functions themselves;
- MCP stdio: `abstractcore-actors mcp serve` as a child process, through
  `rt.mcp_tools(command=...)` (the client actor, the official SDK);
- MCP HTTP: the same server on streamable HTTP (127.0.0.1), in a process of
  its own, through `rt.mcp_tools(url=...)`.

1. Per call: one call at a time, `add(a, b)`; median µs per call and the
   ratio to local.
2. 100 parallel calls in one turn: `pause(0.1)` x 100 (each waits 100 ms);
   the turn's wall time and its ratio to the 100 ms one call takes (1.0:
   all ran at once). Then `add` x 100: calls per second.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio

from abstractcore_actors import open_runtime
from abstractcore_actors.tools import ToolDefinition, run_tool_calls
from abstractcore_actors.types import ToolCall

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from _procs import free_port  # noqa: E402
from _tool_functions import add, pause  # noqa: E402

SERVE = [sys.executable, "-m", "abstractcore_actors.cli", "mcp", "serve"]
SERVE += ["--tools", "_tool_functions"]
CALLS = 300
PARALLEL = 100
PAUSE = 0.1

Tools = Mapping[str, ToolDefinition[..., Any]]


def _call(i: int, name: str, **arguments: Any) -> ToolCall:
    return ToolCall(id=f"call_{i}", name=name, arguments=arguments)


async def per_call(tools: Tools) -> float:
    """Median seconds per `add` call, one at a time (after a warm-up)."""
    took = []
    for i in range(CALLS + 20):
        start = time.perf_counter()
        [result] = await run_tool_calls([_call(i, "add", a=i, b=1)], tools)
        took.append(time.perf_counter() - start)
        assert result.content == str(i + 1), result
    return statistics.median(took[20:])


async def parallel(tools: Tools) -> tuple[float, float]:
    """(wall seconds of PARALLEL pause calls in one turn, add calls per second)."""
    calls = [_call(i, "pause", seconds=PAUSE) for i in range(PARALLEL)]
    start = time.perf_counter()
    results = await run_tool_calls(calls, tools)
    wall = time.perf_counter() - start
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:1]
    adds = [_call(i, "add", a=i, b=i) for i in range(PARALLEL)]
    start = time.perf_counter()
    await run_tool_calls(adds, tools)
    return wall, PARALLEL / (time.perf_counter() - start)


async def sdk_alone() -> float:
    """Median seconds per `add` call with the official SDK's client on its own
    (stdio, no actor, no schema check): what the protocol itself costs."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=SERVE[0], args=SERVE[1:], cwd=str(HERE))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        took = []
        for i in range(CALLS + 20):
            start = time.perf_counter()
            await session.call_tool("add", {"a": i, "b": 1})
            took.append(time.perf_counter() - start)
    return statistics.median(took[20:])


async def _wait_for_port(port: int) -> None:
    with trio.fail_after(30):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await trio.sleep(0.05)
                continue
            await stream.aclose()
            return


async def main() -> None:
    local = {t.name: t for t in (add, pause)}
    rows: dict[str, tuple[float, float, float]] = {}
    rows["local @tool"] = (await per_call(local), *await parallel(local))
    port = free_port()
    http = await trio.lowlevel.open_process(
        [*SERVE, "--http", f"127.0.0.1:{port}"], cwd=HERE, stderr=subprocess.DEVNULL
    )
    try:
        await _wait_for_port(port)
        async with open_runtime(env={}) as rt:
            async with rt.mcp_tools(SERVE, cwd=str(HERE)) as stdio:
                tools = {t.name: t for t in stdio}
                rows["MCP stdio"] = (await per_call(tools), *await parallel(tools))
            async with rt.mcp_tools(url=f"http://127.0.0.1:{port}/mcp") as web:
                tools = {t.name: t for t in web}
                rows["MCP streamable HTTP"] = (await per_call(tools), *await parallel(tools))
    finally:
        http.terminate()
        with trio.CancelScope(shield=True):
            await http.wait()
    alone = await sdk_alone()
    base = rows["local @tool"][0]
    print(
        f"tool calls through run_tool_calls, {CALLS} calls one at a time, then {PARALLEL} at once:"
    )
    print(
        f"  {'':<20} {'µs/call':>10} {'x local':>8} {f'{PARALLEL} x pause({PAUSE:g})':>18} "
        f"{'x one call':>10} {f'{PARALLEL} x add':>12}"
    )
    for name, (call, wall, rate) in rows.items():
        print(
            f"  {name:<20} {call * 1e6:>10.0f} {call / base:>8.1f} {wall * 1000:>15.0f} ms "
            f"{wall / PAUSE:>10.2f} {rate:>8.0f} /s"
        )
    stdio = rows["MCP stdio"][0]
    print(
        f"  the SDK's stdio client alone: {alone * 1e6:.0f} µs/call; the runtime adds "
        f"{(stdio - alone) * 1e6:.0f} µs ({stdio / alone:.2f}x): the client actor's message, "
        "the schema check, run_tool_calls"
    )


if __name__ == "__main__":
    trio.run(main)
