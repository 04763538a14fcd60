"""`abstractcore-actors mcp serve`: this package's `@tool` functions served
over MCP (stdio and streamable HTTP on 127.0.0.1), called back through the
official `mcp` SDK's client and through `rt.mcp_tools`. Real processes and
sockets; real clock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from abstractcore_actors import ToolServerError, cli, open_runtime
from abstractcore_actors._mcp import load_tools, mcp_server, open_http_app
from abstractcore_actors.errors import ValidationError
from abstractcore_actors.events import ToolProgress
from abstractcore_actors.server import serve_mcp
from abstractcore_actors.tools import McpToolFailed, run_tool_calls
from abstractcore_actors.types import ToolCall
from tests.leaks import our_tasks
from tests.mcp.served_tools import index, multiply, refuse, stuck, wait

ROOT = Path(__file__).parents[2]
SERVE = [sys.executable, "-m", "abstractcore_actors.cli", "mcp", "serve"]
DEADLINE = 30
ALL = {t.name: t for t in (multiply, wait, refuse, stuck, index)}


@asynccontextmanager
async def sdk_client(tools: str = "tests.mcp.served_tools") -> AsyncIterator[Any]:
    """The official SDK's stdio client, on our CLI as the server."""
    params = StdioServerParameters(
        command=SERVE[0],
        args=[*SERVE[1:], "--tools", tools],
        cwd=str(ROOT),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def text(result: Any) -> str:
    return "".join(block.text for block in result.content)


async def test_stdio_lists_the_tools_with_their_schemas_and_calls_them() -> None:
    with trio.fail_after(DEADLINE):
        async with sdk_client() as session:
            listed = (await session.list_tools()).tools
            product = await session.call_tool("multiply", {"a": 6, "b": 7})
            refused = await session.call_tool("refuse", {"reason": "not today"})
            invalid = await session.call_tool("multiply", {"a": "six"})
            late = await session.call_tool("stuck", {})
    by_name = {t.name: t for t in listed}
    assert set(by_name) == {"multiply", "wait", "refuse", "stuck", "index"}
    schema = by_name["multiply"].input_schema
    assert schema == dict(multiply.spec.parameters)
    assert schema["properties"]["a"]["description"] == "the first factor"
    assert by_name["multiply"].description == "Multiply two integers."
    assert text(product) == "42" and not product.is_error
    # tool errors are results the model reads (MCP's rule), saying what to fix
    # the caller knows the tool: the text is what went wrong, said once
    assert refused.is_error and text(refused) == "PermissionError: not today"
    assert invalid.is_error and "invalid arguments for tool multiply" in text(invalid)
    assert late.is_error and "timed out after 0.2 s" in text(late)


async def test_an_unknown_tool_is_a_protocol_error_naming_the_tools() -> None:
    from mcp.shared.exceptions import MCPError

    with trio.fail_after(DEADLINE):
        async with sdk_client("tests.mcp.served_tools:only_multiply") as session:
            with pytest.raises(MCPError, match="unknown tool 'nope'; this server has"):
                await session.call_tool("nope", {})


async def test_a_tools_progress_reaches_the_client_as_mcp_progress() -> None:
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    with trio.fail_after(DEADLINE):
        async with sdk_client() as session:
            result = await session.call_tool(
                "index", {"paths": ["a", "b"]}, progress_callback=on_progress
            )
    assert text(result) == "2" and not result.is_error
    # progress grows with each notification (MCP's rule); progress / total is
    # the tool's fraction, and a report without one has no total
    assert reports == [(1, None, "starting"), (2, 4.0, "indexed a"), (3, 3.0, "indexed b")]


async def test_a_served_tools_progress_is_a_tool_progress_event_of_the_caller() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            open_runtime(env={}) as rt,
            rt.mcp_tools([*SERVE, "--tools", "tests.mcp.served_tools"], cwd=str(ROOT)) as tools,
            rt.events.subscribe(ToolProgress, request_id="r1") as progress,
        ):
            call = ToolCall(
                id="c1", name="index", arguments={"paths": ["a", "b"]}, raw_arguments=""
            )
            [result] = await run_tool_calls(
                [call], {t.name: t for t in tools}, emitter=rt.events.emitter("r1")
            )
            assert result.content == "2"
            seen = [(e.tool, e.message, e.fraction) for e in _queued(progress)]
    assert seen == [
        ("index", "starting", None),
        ("index", "indexed a", 0.5),
        ("index", "indexed b", 1.0),
    ]


def _queued(subscription: Any) -> list[Any]:
    out = []
    while True:
        try:
            out.append(subscription.receive_nowait())
        except trio.WouldBlock:
            return out


async def test_a_cancelled_call_cancels_the_tool(tmp_path: Path) -> None:
    events = tmp_path / "events.log"

    def logged() -> list[str]:
        return events.read_text().splitlines() if events.exists() else []

    with trio.fail_after(DEADLINE):
        async with (
            open_runtime(env={}) as rt,
            rt.mcp_tools(
                [*SERVE, "--tools", "tests.mcp.served_tools"],
                cwd=str(ROOT),
                env={"MCP_TEST_LOG": str(events)},
                timeout=0.5,
            ) as tools,
        ):
            with pytest.raises(McpToolFailed, match=r"^PermissionError: x$"):
                await tools.call("refuse", {"reason": "x"})
            # a model behind this runtime reads the tool's name once, not once a side
            call = ToolCall(id="c1", name="refuse", arguments={"reason": "x"}, raw_arguments="")
            [result] = await run_tool_calls([call], {t.name: t for t in tools})
            assert result.error == "tool refuse failed: PermissionError: x"
            with trio.move_on_after(1):  # the caller's cancel reaches the server
                await tools.call("wait", {"seconds": 60})
            while "wait cancelled" not in logged():  # noqa: ASYNC110 - another process
                await trio.sleep(0.02)
        assert our_tasks() == []
    assert logged() == ["wait started", "wait cancelled"]


async def test_streamable_http_through_the_sdk_and_the_runtime() -> None:
    stop = trio.Event()
    reports: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        reports.append((progress, total, message))

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: serve_mcp(ALL, port=0, shutdown=stop, task_status=task_status)
            )
            url = f"http://127.0.0.1:{port}/mcp"
            async with (
                streamable_http_client(url) as (read, write, *_),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                names = {t.name for t in (await session.list_tools()).tools}
                product = await session.call_tool("multiply", {"a": 3, "b": 5})
                await session.call_tool("index", {"paths": ["a"]}, progress_callback=on_progress)
            async with open_runtime(env={}) as rt, rt.mcp_tools(url=url) as tools:
                again = await tools.call("multiply", {"a": 4, "b": 5})
            stop.set()
    assert names == set(ALL) and text(product) == "15" and again == "20"
    # progress travels on the call's own stream
    assert reports == [(1, None, "starting"), (2, 2.0, "indexed a")]


async def test_http_with_a_token_serves_only_requests_that_carry_it() -> None:
    import httpx

    secret = "s3cret-mcp-token"
    stop = trio.Event()
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                partial(serve_mcp, ALL, port=0, shutdown=stop, bearer_token=secret)
            )
            url = f"http://127.0.0.1:{port}/mcp"
            ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
            async with httpx.AsyncClient() as plain:
                bare = await plain.post(url, json=ping)
                wrong = await plain.post(url, json=ping, headers={"Authorization": "Bearer no"})
            async with open_runtime(env={}) as rt:
                with pytest.raises(ToolServerError) as refused:
                    async with rt.mcp_tools(url=url, headers={"Authorization": "Bearer no"}):
                        pass
                bearer = {"Authorization": f"Bearer {secret}"}
                async with rt.mcp_tools(url=url, headers=bearer) as tools:
                    product = await tools.call("multiply", {"a": 4, "b": 5})
                    shown = repr(tools.spec)
            stop.set()
    for answer in (bare, wrong):
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <token>" in answer.json()["error"]["message"]
    assert product == "20"
    # the caller is told what to send; no token is in the error or the repr
    assert "needs a token" in str(refused.value)
    assert secret not in shown and "Bearer no" not in str(refused.value)


def test_a_token_comes_from_the_environment_and_only_for_http(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    serve = ["mcp", "serve", "--tools", "tests.mcp.served_tools"]
    assert cli.main([*serve, "--token-env", "MCP_TOKEN"]) == 2
    assert "--token-env is for --http" in capsys.readouterr().err
    monkeypatch.delenv("MCP_TOKEN", raising=False)
    assert cli.main([*serve, "--http", "127.0.0.1:0", "--token-env", "MCP_TOKEN"]) == 2
    assert "--token-env MCP_TOKEN: the variable is not set" in capsys.readouterr().err


async def test_http_refuses_a_foreign_host_and_other_paths() -> None:
    import httpx

    server = mcp_server(ALL)
    async with open_http_app(server) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.example") as c:
            rebound = await c.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9") as c:
            elsewhere = await c.get("/other")
    assert rebound.status_code in (403, 421)
    assert elsewhere.status_code == 404 and "/mcp" in elsewhere.json()["error"]


def test_loading_tools_names_what_to_pass() -> None:
    assert set(load_tools(["tests.mcp.served_tools"])) == set(ALL)
    assert set(load_tools(["tests.mcp.served_tools:only_multiply"])) == {"multiply"}
    assert set(load_tools(["tests.mcp.served_tools:wait"])) == {"wait"}
    with pytest.raises(ValidationError, match="cannot import 'no_such_module'"):
        load_tools(["no_such_module:x"])
    with pytest.raises(ValidationError, match="has no 'missing'"):
        load_tools(["tests.mcp.served_tools:missing"])
    with pytest.raises(ValidationError, match="is int: name a @tool function"):
        load_tools(["tests.mcp.served_tools:not_tools"])
    with pytest.raises(ValidationError, match="no @tool functions at its top level"):
        load_tools(["json"])
    with pytest.raises(ValidationError, match="two tools are named 'multiply'"):
        load_tools(["tests.mcp.served_tools", "tests.mcp.served_tools:multiply"])


def test_the_cli_says_what_is_wrong_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["mcp", "serve", "--tools", "no_such_module"]) == 2
    assert "cannot import 'no_such_module'" in capsys.readouterr().err
    assert cli.main(["mcp", "serve", "--tools", "tests.mcp.served_tools", "--http", "nowhere"]) == 2
    assert "--http takes HOST:PORT" in capsys.readouterr().err
    assert cli.main(["mcp", "serve", "--tools", "json:dumps"]) == 2
    assert "parameter 'obj' has no type annotation" in capsys.readouterr().err


def test_the_http_server_runs_from_the_command_line_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [*SERVE, "--tools", "tests.mcp.served_tools", "--http", "127.0.0.1:0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        assert "MCP server on http://127.0.0.1:" in banner and "multiply" in banner
    finally:
        process.terminate()
        assert process.wait(timeout=DEADLINE) == 0
