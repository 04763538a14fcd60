"""The filters of /v1/events on gateway traffic: `session_id` (a request's
`X-Session-Id`) and `model` (the gateway's names, not only upstream ones).
Real WebSockets, the real openai SDK, a fake upstream."""

from __future__ import annotations

from typing import Any

import attrs
import httpx
import openai
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import (
    DEADLINE,
    Routes,
    chat,
    gateway_config,
    passthrough_env,
    sdk_client,
    serving,
)
from .test_events_ws import collect_until, events_socket, subscribed

MESSAGES: Any = [{"role": "user", "content": "hi"}]


@pytest.fixture
def runtime_env(upstream: FakeOpenAIServer) -> dict[str, str]:
    return passthrough_env(upstream)  # "openai/<model>" reaches the fake upstream too


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    base = gateway_config(upstream, passthrough=True)
    # "cheap" is another public name over the very upstream model of "fast"
    return attrs.evolve(base, models={**base.models, "cheap": base.models["fast"]})


async def ask(
    client: openai.AsyncOpenAI,
    model: str,
    request_id: str,
    session_id: str | None = None,
    *,
    stream: bool = False,
) -> None:
    headers = {"X-Request-Id": request_id}
    if session_id is not None:
        headers["X-Session-Id"] = session_id
    if stream:
        chunks = await client.chat.completions.create(
            model=model, messages=MESSAGES, stream=True, extra_headers=headers
        )
        assert [c async for c in chunks]
    else:
        reply = await client.chat.completions.create(
            model=model, messages=MESSAGES, extra_headers=headers
        )
        assert reply.choices[0].message.content == "echo: hi"


def done(request_id: str) -> Any:
    return lambda e: e["type"] == "generation.completed" and e["request_id"] == request_id


async def test_x_session_id_tags_exactly_that_requests_events(
    port: int, client: openai.AsyncOpenAI
) -> None:
    with trio.fail_after(DEADLINE):
        async with events_socket(port, session_id="chat-42") as ws:
            hello = await subscribed(ws)
            assert hello["filters"]["session_id"] == ["chat-42"]
            await ask(client, "gpt-test", "s-1", "chat-42", stream=True)
            await ask(client, "gpt-test", "other-1", "chat-43")
            await ask(client, "fast", "none-1")
            await ask(client, "race:fast,slow", "s-race", "chat-42")
            await ask(client, "fast", "s-2", "chat-42")
            events = await collect_until(ws, done("s-2"))
    assert {e["session_id"] for e in events} == {"chat-42"}
    started = [e["request_id"] for e in events if e["type"] == "generation.started"]
    assert sorted(started) == ["s-1", "s-2", "s-race/0", "s-race/1"]
    assert [e["type"] for e in events if e["request_id"] == "s-1"][-1] == "generation.completed"


async def test_a_malformed_x_session_id_is_refused(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        good = await http.post(
            "/v1/chat/completions", json=chat(), headers={"x-session-id": "a.b:c-1_2"}
        )
        values = (b"has/slash", b"x" * 65, b"spa ce", b"", "caf\xe9".encode("latin-1"))
        bad = [
            await http.post("/v1/chat/completions", json=chat(), headers=[(b"x-session-id", v)])
            for v in values
        ]
    assert good.status_code == 200, good.text
    for response in bad:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_session_id"
        assert "X-Session-Id" in error["message"]


async def test_public_names_over_one_upstream_model_stay_apart(
    port: int, client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["slow"] = Reply(text="late", ttft=2)  # loses every race
    markers = {"cheap": "m-cheap", "fast": "m-fast", "default": "m-alias"}
    with trio.fail_after(DEADLINE):
        async with (
            events_socket(port, model="cheap") as cheap,
            events_socket(port, model="fast") as fast,
            events_socket(port, model="default") as alias,
        ):
            sockets = {"cheap": cheap, "fast": fast, "default": alias}
            for ws in sockets.values():
                await subscribed(ws)
            await ask(client, "fast", "to-fast")
            await ask(client, "cheap", "to-cheap", stream=True)
            await ask(client, "gpt-test", "to-target")
            await ask(client, "race:cheap,slow", "to-race")
            await ask(client, "hedge:slow,cheap?after=0", "to-hedge")
            for model, marker in markers.items():
                await ask(client, model, marker)
            got = {
                model: await collect_until(sockets[model], done(marker))
                for model, marker in markers.items()
            }
    started = {
        model: {e["request_id"] for e in events if e["type"] == "generation.started"}
        for model, events in got.items()
    }
    assert started == {
        # a virtual model's contender counts as the member it runs
        "cheap": {"to-cheap", "to-race/0", "to-hedge/1", "m-cheap"},
        "fast": {"to-fast", "m-fast"},
        "default": {"to-target", "m-alias"},  # an alias and its target are one model
    }
    # yet every event of both names says model "fast": the upstream model they share
    assert {e["model"] for e in got["cheap"] + got["fast"]} == {"fast"}


async def test_a_passthrough_name_matches_its_calls(
    port: int, rt: Runtime, client: openai.AsyncOpenAI, upstream: FakeOpenAIServer
) -> None:
    completed = "generation.completed"
    with trio.fail_after(DEADLINE):
        async with (
            events_socket(port, model="openai/gpt-4o", type=completed) as by_name,
            events_socket(port, model="gpt-4o", type=completed) as by_upstream,
        ):
            await subscribed(by_name)
            await subscribed(by_upstream)
            await ask(client, "openai/gpt-4o-mini", "other")
            await ask(client, "openai/gpt-4o", "via-gateway")
            # a call the gateway did not make, spelled the same way
            llm = rt.create_llm("openai/gpt-4o")
            await llm.generate("x", request_id="direct")
            await ask(client, "openai/gpt-4o", "marker")
            named = await collect_until(by_name, done("marker"))
            upstream_named = await collect_until(by_upstream, done("marker"))
    assert [e["request_id"] for e in named] == ["via-gateway", "direct", "marker"]
    assert [e["request_id"] for e in upstream_named] == ["via-gateway", "direct", "marker"]


async def test_a_virtual_alias_contender_counts_as_its_member(
    rt: Runtime, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["slow"] = Reply(text="late", ttft=2)  # loses the race
    config = gateway_config(upstream, aliases={"best": "race:fast,slow"})
    async with serving(rt, config) as port, sdk_client(port) as sdk:
        with trio.fail_after(DEADLINE):
            async with (
                events_socket(port, model="fast") as fast,
                events_socket(port, model="best") as best,
            ):
                await subscribed(fast)
                await subscribed(best)
                await ask(sdk, "best", "via-alias")
                await ask(sdk, "fast", "marker")
                by_member = await collect_until(fast, done("marker"))
                await ask(sdk, "best", "marker-2")
                by_alias = await collect_until(best, done("marker-2/0"))
    started = {e["request_id"] for e in by_member if e["type"] == "generation.started"}
    assert started == {"via-alias/0", "marker"}  # not the slow contender via-alias/1
    named = {e["request_id"] for e in by_alias if e["type"] == "generation.started"}
    assert named == {"via-alias/0", "via-alias/1", "marker-2/0", "marker-2/1"}
