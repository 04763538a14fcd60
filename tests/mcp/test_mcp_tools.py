"""MCP servers as tool actors, against a real MCP server written with the
official SDK (tests/mcp/server.py) over stdio and streamable HTTP on
127.0.0.1, and sessions whose scripted model calls its tools through the
fake OpenAI server. Real clock: the server is another process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from abstractcore_actors import Runtime, ToolServerError, open_runtime
from abstractcore_actors.testing import (
    FakeToolCall,
    RecordedRequest,
    Reply,
    Step,
    open_fake_openai_server,
)
from tests.leaks import our_tasks

SERVER = [sys.executable, str(Path(__file__).with_name("server.py"))]
DEADLINE = 30


@pytest.fixture
def events(tmp_path: Path) -> Path:
    return tmp_path / "server-events.log"


def logged(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


async def until(predicate: Any) -> None:
    """Poll `predicate()` (a file the server process writes, a counter)."""
    while not predicate():  # noqa: ASYNC110 - another process's file: no event to wait on
        await trio.sleep(0.02)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Model:
    """Scripted replies by the request; records each request's tool names."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.tools: list[list[str]] = []
        self.messages: list[list[dict[str, Any]]] = []

    def __call__(self, request: RecordedRequest) -> Step:
        body = request.json if isinstance(request.json, dict) else {}
        self.tools.append([t["function"]["name"] for t in body.get("tools", [])])
        self.messages.append(list(body.get("messages", [])))
        return self.steps.pop(0) if self.steps else Reply(text="done")


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime
    assert our_tasks() == []


async def test_tools_come_with_their_schemas_and_answer(rt: Runtime, events: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with rt.mcp_tools(SERVER, env={"MCP_TEST_LOG": str(events)}, name="t") as tools:
            names = [t.name for t in tools]
            add = next(t for t in tools if t.name == "add")
            answer = await tools.call("add", {"a": 2, "b": 3})
            pid = int(logged(events)[0].split()[1])
    assert names == ["add", "slow", "crash", "grow", "env", "big", "fail"]
    assert add.spec.parameters["required"] == ["a", "b"]
    assert add.spec.parameters["properties"]["a"]["type"] == "integer"
    assert answer == "5"
    assert gone(pid)  # leaving the block stopped the server


async def test_a_session_calls_them_in_parallel_and_the_model_reads_the_results(
    rt: Runtime, events: Path
) -> None:
    model = Model(
        Reply(
            tool_calls=[
                FakeToolCall(name="slow", arguments={"seconds": 1}),
                FakeToolCall(name="slow", arguments={"seconds": 1}),
                FakeToolCall(name="add", arguments={"a": 4, "b": 5}),
                FakeToolCall(name="add", arguments={"a": "four"}),
            ]
        ),
    )
    async with open_fake_openai_server(model) as upstream:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url)
        with trio.fail_after(DEADLINE):
            async with rt.mcp_tools(SERVER, env={"MCP_TEST_LOG": str(events)}) as tools:
                session = rt.session(llm, tools=[tools])
                start = trio.current_time()
                reply = await session.generate("go")
                took = trio.current_time() - start
    assert reply.content == "done"
    results = [m["content"] for m in model.messages[1] if m["role"] == "tool"]
    assert results[:3] == ["slept 1.0", "slept 1.0", "9"]
    assert "invalid arguments for tool add" in results[3]  # checked before it was sent
    assert took < 1.9  # the two 1 s calls ran side by side
    assert model.tools[0] == ["add", "slow", "crash", "grow", "env", "big", "fail"]


async def test_a_changed_tool_list_reaches_the_session_at_its_next_call(
    rt: Runtime, events: Path
) -> None:
    model = Model(Reply(tool_calls=[FakeToolCall(name="grow", arguments={})]), Reply(text="ok"))
    async with open_fake_openai_server(model) as upstream:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url)
        with trio.fail_after(DEADLINE):
            async with rt.mcp_tools(SERVER, env={"MCP_TEST_LOG": str(events)}) as tools:
                session = rt.session(llm, tools=[tools])
                before = tools.version
                await session.generate("grow yourself")
                await until(lambda: tools.version != before)  # the notification, the re-list
                await session.generate("and now?")
                shouted = await tools.call("extra", {"text": "hi"})
    assert "extra" not in model.tools[0]
    assert "extra" in model.tools[-1]
    assert shouted == "HI"


async def test_a_crash_mid_call_is_an_error_the_model_reads_and_the_server_restarts(
    rt: Runtime, events: Path
) -> None:
    model = Model(Reply(tool_calls=[FakeToolCall(name="crash", arguments={})]), Reply(text="ok"))
    async with open_fake_openai_server(model) as upstream:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url)
        with trio.fail_after(DEADLINE):
            async with rt.mcp_tools(SERVER, env={"MCP_TEST_LOG": str(events)}) as tools:
                session = rt.session(llm, tools=[tools])
                reply = await session.generate("crash it")
                again = None
                while again is None:  # the supervisor restarts it
                    try:
                        again = await tools.call("add", {"a": 1, "b": 1})
                    except ToolServerError:
                        await trio.sleep(0.05)
    [result] = [m["content"] for m in model.messages[1] if m["role"] == "tool"]
    assert "stopped during the call" in result and reply.content == "ok"
    assert again == "2"
    starts = [line for line in logged(events) if line.startswith("started")]
    assert len(starts) == 2 and all(gone(int(s.split()[1])) for s in starts)


async def test_a_server_that_dies_while_idle_is_restarted_before_the_next_call(
    rt: Runtime, events: Path
) -> None:
    with trio.fail_after(DEADLINE):
        async with rt.mcp_tools(SERVER, env={"MCP_TEST_LOG": str(events)}) as tools:
            assert await tools.call("add", {"a": 1, "b": 2}) == "3"
            [first] = [int(s.split()[1]) for s in logged(events) if s.startswith("started")]
            os.kill(first, 9)
            await until(lambda: len([s for s in logged(events) if s.startswith("started")]) == 2)
            assert await tools.call("add", {"a": 2, "b": 2}) == "4"
    starts = [int(s.split()[1]) for s in logged(events) if s.startswith("started")]
    assert len(starts) == 2 and all(gone(pid) for pid in starts)


async def test_a_hung_call_obeys_the_timeout_and_the_server_sees_the_cancel(
    rt: Runtime, events: Path
) -> None:
    model = Model(Reply(tool_calls=[FakeToolCall(name="slow", arguments={"seconds": 60})]))
    async with open_fake_openai_server(model) as upstream:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url)
        with trio.fail_after(DEADLINE):
            async with rt.mcp_tools(SERVER, env={"MCP_TEST_LOG": str(events)}, timeout=0.5) as t:
                session = rt.session(llm, tools=[t])
                await session.generate("wait")
                await until(lambda: "slow cancelled" in logged(events))
                # cancelling a call from the caller's side works the same way
                with trio.move_on_after(0.3):
                    await t.call("slow", {"seconds": 60})
                await until(lambda: logged(events).count("slow cancelled") >= 2)
    [result] = [m["content"] for m in model.messages[1] if m["role"] == "tool"]
    assert "timed out after 0.5 s" in result


async def test_a_server_that_never_starts_names_its_command_and_stderr(rt: Runtime) -> None:
    with trio.fail_after(DEADLINE), pytest.raises(ToolServerError) as raised:
        async with rt.mcp_tools(SERVER, env={"MCP_TEST_FAIL_AT_START": "1"}):
            pass
    message = str(raised.value)
    assert "server.py" in message
    assert "fatal: cannot open the database at /nowhere" in message
    with trio.fail_after(DEADLINE), pytest.raises(ToolServerError, match="cannot be started"):
        async with rt.mcp_tools(["/no/such/mcp-server"]):
            pass


async def test_its_environment_is_only_what_is_named(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak-0123456789")
    with trio.fail_after(DEADLINE):
        async with rt.mcp_tools(SERVER, env={"GREETING": "hello"}) as tools:
            greeting = await tools.call("env", {"name": "GREETING"})
            key = await tools.call("env", {"name": "OPENAI_API_KEY"})
    assert greeting == "hello"
    assert key == "<unset>"


async def test_output_is_cut_and_error_results_are_errors(rt: Runtime) -> None:
    from abstractcore_actors.tools import McpToolFailed

    with trio.fail_after(DEADLINE):
        async with rt.mcp_tools(SERVER, max_output=1000) as tools:
            big = await tools.call("big", {"size": 5000})
            with pytest.raises(McpToolFailed, match="the quota is exhausted"):
                await tools.call("fail", {})
    assert big.startswith("x" * 1000) and big.endswith("[cut: 4,000 more characters]")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_streamable_http_server(rt: Runtime) -> None:
    port = _free_port()
    process = await trio.lowlevel.open_process(
        [*SERVER, "--http", str(port)], stderr=subprocess.DEVNULL
    )
    try:
        with trio.fail_after(DEADLINE):
            while True:
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", port)
                    await stream.aclose()
                    break
                except OSError:
                    await trio.sleep(0.05)
            async with rt.mcp_tools(url=f"http://127.0.0.1:{port}/mcp", name="web") as tools:
                names = [t.name for t in tools]
                answer = await tools.call("add", {"a": 20, "b": 22})
    finally:
        process.terminate()
        with trio.CancelScope(shield=True):
            await process.wait()
    assert "add" in names and answer == "42"
