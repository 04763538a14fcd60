"""Tools in the gateway: `[mcp.NAME]` servers from its config, `GET /v1/tools`
per key, and chat requests naming `{"type": "mcp"}` tools, whose tool loop
the gateway runs itself (steps on /v1/events). Real MCP servers (the SDK's
test server, and this package's own tools served by `abstractcore-actors
mcp serve`), the real openai and anthropic SDKs, a fake upstream."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anthropic
import attrs
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, RecordedRequest, Reply

from .conftest import KEY, Routes, assert_openai_error, gateway_config, http_client, sdk_client
from .test_console import NEEDS_CHROMIUM, ask, enter_key, in_browser, open_page, unexpected
from .test_events_ws import collect_until, events_socket, subscribed

ROOT = Path(__file__).parents[2]
SDK_SERVER = [sys.executable, str(ROOT / "tests" / "mcp" / "server.py")]
OURS = [sys.executable, "-m", "abstractcore_actors.cli", "mcp", "serve"]
DEADLINE = 30
MATHS = "gw-maths-key-0001"  # tools: mine/*
NO_TOOLS = "gw-plain-key-0002"  # no tools line: none
MINE: Any = [{"type": "mcp", "server_label": "mine"}]


def _mcp_table(log: Path) -> dict[str, Any]:
    return {
        "mine": {
            "command": [*OURS, "--tools", "tests.mcp.served_tools"],
            "cwd": str(ROOT),
            "env": {"MCP_TEST_LOG": str(log)},
        },
        "sdk": {"command": SDK_SERVER, "prefix": "sdk_"},
    }


@pytest.fixture
def tool_log(tmp_path: Path) -> Path:
    """What the served tools write (tests/mcp/served_tools.py)."""
    return tmp_path / "tools.log"


def logged(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def config(upstream: FakeOpenAIServer, tool_log: Path) -> GatewayConfig:
    parsed = config_from_mapping(
        {
            "mcp": _mcp_table(tool_log),
            "keys": [
                {"key": MATHS, "name": "maths", "tools": ["mine/*"]},
                {"key": NO_TOOLS, "name": "plain"},
            ],
        }
    )
    base = gateway_config(upstream)
    return attrs.evolve(base, mcp=parsed.mcp, keys=parsed.keys, max_tool_steps=3)


def upstream_tools(request: RecordedRequest) -> list[str]:
    body = request.json if isinstance(request.json, dict) else {}
    return [t["function"]["name"] for t in body.get("tools", [])]


def tool_messages(request: RecordedRequest) -> list[dict[str, Any]]:
    body = request.json if isinstance(request.json, dict) else {}
    return [m for m in body.get("messages", []) if m["role"] == "tool"]


def two_steps(routes: Routes) -> None:
    routes.steps["gpt-test"] = [
        Reply(
            text="Let me work it out. ",
            tool_calls=[
                FakeToolCall(name="multiply", arguments={"a": 6, "b": 7}),
                FakeToolCall(name="wait", arguments={"seconds": 0.01}),
            ],
        ),
        Reply(text="It is 42."),
    ]


async def test_get_tools_lists_what_each_key_may_use(port: int) -> None:
    async with http_client(port) as admin, http_client(port, MATHS) as maths:
        everything = (await admin.get("/v1/tools")).json()["data"]
        mine = (await maths.get("/v1/tools")).json()["data"]
    async with http_client(port, NO_TOOLS) as plain:
        nothing = (await plain.get("/v1/tools")).json()["data"]
    names = [t["function"]["name"] for t in everything]
    assert names[:5] == ["multiply", "wait", "refuse", "stuck", "index"]
    assert "sdk_add" in names and "sdk_slow" in names
    multiply = everything[0]
    assert multiply["server"] == "mine" and multiply["server_tool"] == "multiply"
    assert multiply["function"]["parameters"]["required"] == ["a", "b"]
    add = next(t for t in everything if t["function"]["name"] == "sdk_add")
    assert add["server_tool"] == "add"
    assert [t["function"]["name"] for t in mine] == ["multiply", "wait", "refuse", "stuck", "index"]
    assert nothing == []


async def test_a_chat_request_gets_the_final_answer_and_the_steps_are_events(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    two_steps(routes)
    reply, events = await _ask_with_events(port, "what is 6 x 7?", "tools-1")
    message = reply.choices[0].message
    assert message.content == "Let me work it out. It is 42."
    assert not message.tool_calls and reply.choices[0].finish_reason == "stop"
    first, second = upstream.requests[-2:]
    assert upstream_tools(first) == ["multiply", "wait", "refuse", "stuck", "index"]
    results = {m["tool_call_id"]: m["content"] for m in tool_messages(second)}
    assert sorted(results.values()) == ["42", "waited 0.01"]
    assert reply.usage is not None and reply.usage.total_tokens > 0
    kinds = [(e["type"], e.get("tool")) for e in events if e["request_id"] == "tools-1"]
    assert ("tool.started", "multiply") in kinds and ("tool.completed", "multiply") in kinds
    completed = [e for e in events if e["type"] == "tool.completed"]
    assert all(e["ok"] for e in completed) and len(completed) == 2


async def test_an_mcp_tools_progress_is_a_tool_progress_event_of_the_request(
    port: int, routes: Routes
) -> None:
    routes.steps["gpt-test"] = [
        Reply(tool_calls=[FakeToolCall(name="index", arguments={"paths": ["a", "b"]})]),
        Reply(text="Indexed 2."),
    ]
    reply, events = await _ask_with_events(port, "index a and b", "tools-progress")
    assert reply.choices[0].message.content == "Indexed 2."
    progress = [
        (e["tool"], e["message"], e["fraction"])
        for e in events
        if e["type"] == "tool.progress" and e["request_id"] == "tools-progress"
    ]
    assert progress == [
        ("index", "starting", None),
        ("index", "indexed a", 0.5),
        ("index", "indexed b", 1.0),
    ]


async def _ask_with_events(port: int, content: str, request_id: str) -> tuple[Any, list[Any]]:
    """A chat request naming the gateway's tools, and the events up to its two
    steps' completions (the socket subscribed before the request is sent)."""
    with trio.fail_after(DEADLINE):
        async with events_socket(port, KEY) as ws, sdk_client(port) as client:
            await subscribed(ws)
            reply = await client.chat.completions.create(
                model="gpt-test",
                messages=[{"role": "user", "content": content}],
                tools=MINE,
                extra_headers={"x-request-id": request_id},
            )
            return reply, await _events_until_two_completions(ws)


async def _events_until_two_completions(ws: Any) -> list[dict[str, Any]]:
    count = 0

    def done(event: dict[str, Any]) -> bool:
        nonlocal count
        count += event["type"] == "generation.completed"
        return count == 2

    return await collect_until(ws, done)


async def test_streamed_the_text_of_every_step_arrives_and_no_tool_call_pieces(
    port: int, routes: Routes
) -> None:
    two_steps(routes)
    with trio.fail_after(DEADLINE):
        async with sdk_client(port) as client:
            stream = await client.chat.completions.create(
                model="gpt-test",
                messages=[{"role": "user", "content": "what is 6 x 7?"}],
                tools=MINE,
                stream=True,
                stream_options={"include_usage": True},
            )
            chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Let me work it out. It is 42."
    assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0].total_tokens > 0


async def test_responses_and_messages_run_the_loop_too(port: int, routes: Routes) -> None:
    two_steps(routes)
    with trio.fail_after(DEADLINE):
        async with sdk_client(port) as client:
            response = await client.responses.create(
                model="gpt-test",
                input="what is 6 x 7?",
                tools=[
                    {
                        "type": "mcp",
                        "server_label": "mine",
                        "require_approval": "never",
                        "allowed_tools": ["multiply", "wait"],
                    }
                ],  # type: ignore[list-item]
            )
        two_steps(routes)
        claude = anthropic.AsyncAnthropic(
            base_url=f"http://127.0.0.1:{port}", api_key=KEY, max_retries=0
        )
        async with claude:
            message = await claude.messages.create(
                model="gpt-test",
                max_tokens=100,
                messages=[{"role": "user", "content": "what is 6 x 7?"}],
                tools=MINE,
            )
    assert response.output_text == "Let me work it out. It is 42."
    assert [b.text for b in message.content if b.type == "text"] == [
        "Let me work it out. It is 42."
    ]
    assert message.stop_reason == "end_turn"


RESPONSES_TOOLS: Any = [
    {"type": "mcp", "server_label": "mine", "require_approval": "never"},
]


async def test_responses_list_each_tool_the_gateway_ran_as_an_mcp_call_item(
    port: int, routes: Routes
) -> None:
    routes.steps["gpt-test"] = [
        Reply(
            text="Let me work it out. ",
            tool_calls=[
                FakeToolCall(name="multiply", arguments={"a": 6, "b": 7}),
                FakeToolCall(name="refuse", arguments={"reason": "no"}),
            ],
        ),
        Reply(text="It is 42."),
    ]
    with trio.fail_after(DEADLINE):
        async with sdk_client(port) as client:
            response = await client.responses.create(
                model="gpt-test", input="what is 6 x 7?", tools=RESPONSES_TOOLS
            )
    assert [item.type for item in response.output] == ["mcp_call", "mcp_call", "message"]
    product, refused = response.output[0], response.output[1]
    assert product.type == "mcp_call" and refused.type == "mcp_call"  # for the type checker
    assert (product.server_label, product.name, product.status) == ("mine", "multiply", "completed")
    assert json.loads(product.arguments) == {"a": 6, "b": 7} and product.output == "42"
    assert refused.status == "failed" and refused.output is None and refused.error is not None
    assert refused.error.type == "mcp_tool_execution_error"
    assert "PermissionError: no" in str(refused.error.content)
    assert response.output_text == "Let me work it out. It is 42."


async def test_a_streamed_response_shows_each_mcp_call_between_the_steps_text(
    port: int, routes: Routes
) -> None:
    two_steps(routes)
    with trio.fail_after(DEADLINE):
        async with sdk_client(port) as client:
            stream = await client.responses.create(
                model="gpt-test", input="what is 6 x 7?", tools=RESPONSES_TOOLS, stream=True
            )
            events = [event async for event in stream]
    kinds = [event.type for event in events]
    added = [e.item.type for e in events if e.type == "response.output_item.added"]
    assert added == ["message", "mcp_call", "mcp_call", "message"]  # in the order they happened
    first_call = kinds.index("response.mcp_call.in_progress")
    assert kinds[first_call : first_call + 5] == [
        "response.mcp_call.in_progress",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.completed",
        "response.output_item.done",
    ]
    # the first step's message closed before the first call began
    assert kinds.index("response.output_text.done") < first_call
    [completed] = [e for e in events if e.type == "response.completed"]
    output = completed.response.output
    assert [item.type for item in output] == ["message", "mcp_call", "mcp_call", "message"]
    outputs = sorted(item.output or "" for item in output if item.type == "mcp_call")
    assert outputs == ["42", "waited 0.01"]
    assert completed.response.output_text == "Let me work it out. It is 42."
    assert [e.sequence_number for e in events] == list(range(len(events)))


async def test_a_sdk_server_tool_by_its_prefixed_name(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = [
        Reply(tool_calls=[FakeToolCall(name="sdk_add", arguments={"a": 2, "b": 3})]),
        Reply(text="five"),
    ]
    with trio.fail_after(DEADLINE):
        async with sdk_client(port) as client:
            reply = await client.chat.completions.create(
                model="gpt-test",
                messages=[{"role": "user", "content": "2 + 3?"}],
                tools=[{"type": "mcp", "server_label": "sdk", "allowed_tools": ["add"]}],  # type: ignore[list-item]
            )
    assert reply.choices[0].message.content == "five"
    assert upstream_tools(upstream.requests[-2]) == ["sdk_add"]
    assert [m["content"] for m in tool_messages(upstream.requests[-1])] == ["5"]


async def test_a_failing_tool_is_read_by_the_model_and_steps_are_bounded(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    again = Reply(tool_calls=[FakeToolCall(name="refuse", arguments={"reason": "no"})])
    routes.steps["gpt-test"] = [again, again, Reply(text="I give up.")]
    with trio.fail_after(DEADLINE):
        async with sdk_client(port) as client:
            reply = await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "go"}], tools=MINE
            )
    assert reply.choices[0].message.content == "I give up."
    calls = upstream.requests[-3:]
    assert "PermissionError: no" in tool_messages(calls[1])[0]["content"]
    last = calls[2].json
    assert isinstance(last, dict) and last["tool_choice"] == "none"  # max_tool_steps = 3


async def test_a_client_that_leaves_mid_tool_call_cancels_the_tool(
    port: int, routes: Routes, tool_log: Path
) -> None:
    routes.steps["gpt-test"] = [
        Reply(tool_calls=[FakeToolCall(name="wait", arguments={"seconds": 60})]),
        Reply(text="never asked"),
    ]
    with trio.fail_after(DEADLINE):
        async with http_client(port) as http, trio.open_nursery() as nursery:

            async def ask() -> None:
                await http.post(
                    "/v1/chat/completions",
                    json={
                        "model": "gpt-test",
                        "messages": [{"role": "user", "content": "x"}],
                        "tools": MINE,
                    },
                )

            nursery.start_soon(ask)
            while "wait started" not in logged(tool_log):  # noqa: ASYNC110 - another process
                await trio.sleep(0.02)
            nursery.cancel_scope.cancel()  # the client hangs up mid-call
        while "wait cancelled" not in logged(tool_log):  # noqa: ASYNC110 - another process
            await trio.sleep(0.02)
    assert logged(tool_log) == ["wait started", "wait cancelled"]


@pytest.mark.parametrize(
    ("key", "tools", "status", "says"),
    [
        (NO_TOOLS, MINE, 403, "may use none of MCP server 'mine'"),
        (MATHS, [{"type": "mcp", "server_label": "sdk"}], 403, "may use none of MCP server 'sdk'"),
        (KEY, [{"type": "mcp", "server_label": "nope"}], 400, "no MCP server 'nope'"),
        (
            KEY,
            [{"type": "mcp", "server_label": "mine", "allowed_tools": ["zap"]}],
            400,
            "has no tool 'zap'",
        ),
        (
            KEY,
            [{"type": "mcp", "server_label": "x", "server_url": "http://evil"}],
            400,
            "runs only the MCP servers its config names",
        ),
        (
            KEY,
            [{"type": "mcp", "server_label": "mine", "require_approval": "always"}],
            400,
            'require_approval must be "never"',
        ),
        (KEY, [*MINE, {"type": "function", "function": {"name": "mine_too"}}], 400, "not both"),
    ],
)
async def test_what_a_request_may_not_do(
    port: int, key: str, tools: list[Any], status: int, says: str
) -> None:
    async with http_client(port, key) as http:
        response = await http.post(
            "/v1/chat/completions",
            json={
                "model": "gpt-test",
                "messages": [{"role": "user", "content": "x"}],
                "tools": tools,
            },
        )
    error = assert_openai_error(response, status)
    assert says in str(error["message"])


def test_mcp_tables_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def problem(table: dict[str, Any]) -> str:
        with pytest.raises(ConfigurationError) as raised:
            config_from_mapping({"mcp": {"x": table}})
        return str(raised.value)

    assert "needs command=[...] (stdio) or url=" in problem({})
    assert "unknown setting(s) commnd (commnd: did you mean command?)" in problem({"commnd": []})
    assert "pass_env names NOPE_NOT_SET" in problem(
        {"command": ["x"], "pass_env": ["NOPE_NOT_SET"]}
    )
    assert "timeout must be" in problem({"command": ["x"], "timeout": 0})
    monkeypatch.setenv("MY_TOKEN", "t0k3n-secret")
    server = config_from_mapping({"mcp": {"x": {"command": ["x"], "pass_env": ["MY_TOKEN"]}}}).mcp[
        "x"
    ]
    assert server.spec.env == {"MY_TOKEN": "t0k3n-secret"}
    assert "t0k3n-secret" not in repr(server)
    # a remote server's token: named in the file, read from the environment
    remote = {"url": "http://127.0.0.1:9/mcp", "bearer_env": "MY_TOKEN", "headers": {"X-Team": "a"}}
    server = config_from_mapping({"mcp": {"r": remote}}).mcp["r"]
    assert server.spec.headers == {"X-Team": "a", "Authorization": "Bearer t0k3n-secret"}
    assert "t0k3n-secret" not in repr(server) and "t0k3n-secret" not in server.spec.label
    assert "bearer_env names NOPE_NOT_SET, which is not set" in problem(
        {"url": "http://127.0.0.1:9/mcp", "bearer_env": "NOPE_NOT_SET"}
    )
    assert "headers must be a table" in problem({"url": "http://x/mcp", "headers": ["a"]})
    assert "headers are for a url= server" in problem({"command": ["x"], "headers": {"A": "b"}})
    with pytest.raises(ConfigurationError, match="tools must be a list"):
        config_from_mapping({"keys": [{"key": "k", "tools": "mine/*"}]})


async def test_two_servers_offering_one_name_stop_the_start(
    rt: Runtime, upstream: FakeOpenAIServer
) -> None:
    from abstractcore_actors.server._gateway_tools import open_gateway_tools

    twice = config_from_mapping(
        {"mcp": {"a": {"command": SDK_SERVER}, "b": {"command": SDK_SERVER}}}
    )
    with trio.fail_after(DEADLINE), pytest.raises(ConfigurationError, match="both offer a tool"):
        async with open_gateway_tools(rt, twice):
            pass


@NEEDS_CHROMIUM
async def test_the_console_runs_gateway_tools_and_shows_their_output_as_text(
    port: int, routes: Routes
) -> None:
    html = "<img src=x onerror=alert(1)><b>bold</b>"
    routes.steps["gpt-test"] = [
        Reply(tool_calls=[FakeToolCall(name="refuse", arguments={"reason": html})]),
        Reply(text=f"The tool said {html}"),
    ]

    def drive(url: str) -> dict[str, Any]:
        from playwright.sync_api import expect

        with open_page(url) as (page, errors):
            enter_key(page)
            page.wait_for_selector("#tool-servers option[value='mine']", state="attached")
            page.fill("#tools", "mine")
            ask(page, "gpt-test", "use the tool")
            expect(page.locator("#status")).to_have_text("done")
            return {
                "answer": page.text_content("#answer") or "",
                "timeline": page.eval_on_selector_all(
                    "#timeline li", "items => items.map(li => li.textContent)"
                ),
                "images": page.eval_on_selector_all("#answer img, #timeline img", "n => n.length"),
                "errors": errors,
            }

    seen = await in_browser(drive, port)
    assert unexpected(seen["errors"]) == []
    assert seen["answer"] == f"The tool said {html}"  # as text: no element was made
    assert seen["images"] == 0
    started = [t for t in seen["timeline"] if "tool.started" in t]
    completed = [t for t in seen["timeline"] if "tool.completed" in t]
    assert len(started) == 1 and "refuse(" in started[0] and "onerror" in started[0]
    assert (
        len(completed) == 1
        and "refuse failed: tool refuse failed: PermissionError: <img" in completed[0]
    )


async def test_a_budget_holds_for_every_step_the_tool_loop_may_take(
    rt: Runtime, config: GatewayConfig, routes: Routes
) -> None:
    from abstractcore_actors._budgets import Budget

    from .conftest import serving

    budgeted = attrs.evolve(
        config, budgets=(Budget(scope="key", name="*", period="total", tokens=150),)
    )
    ask = {"model": "gpt-test", "max_tokens": 60, "messages": [{"role": "user", "content": "x"}]}
    async with serving(rt, budgeted) as bound, http_client(bound) as http:
        plain = await http.post("/v1/chat/completions", json=ask)
        looped = await http.post("/v1/chat/completions", json={**ask, "tools": MINE})
    assert plain.status_code == 200, plain.text
    # three steps' worst case (max_tool_steps = 3) does not fit what is left
    error = assert_openai_error(looped, 429)
    assert error["code"] == "budget_exceeded"
