"""Who sees what on /v1/events: a [[keys]] key watches its own requests by
default, `events = "all"` every call to the models it may use (and only
those), `events = "none"` nothing; plain `api_keys` see everything. Real
WebSockets, the real openai SDK, a fake upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import openai
import pytest
import trio
import trio_websocket

from abstractcore_actors import Runtime
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server import GatewayConfig, KeyPolicy, hash_key
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeOpenAIServer, Reply, prepare_sdk_client

from .conftest import DEADLINE, KEY, UPSTREAM_KEY, Routes, gateway_config, passthrough_env
from .test_events_ws import collect_until, events_socket, receive, subscribed

TEAM_A = "gw-team-a-key-0001"  # models: fast; events: own (the default)
TEAM_B = "gw-team-b-key-0002"  # models: fast, cheap, gpt-test; events: own
WATCHER = "gw-watch-key-0003"  # models: fast; events: all
PASSTHROUGH = "gw-pass-key-0004"  # models: openai/*; events: all
MUTED = "gw-muted-key-0005"  # events: none
MESSAGES: Any = [{"role": "user", "content": "hi"}]


def _key(key: str, name: str, **policy: Any) -> KeyPolicy:
    return KeyPolicy(hash=hash_key(key), name=name, **policy)


@pytest.fixture
def runtime_env(upstream: FakeOpenAIServer) -> dict[str, str]:
    return passthrough_env(upstream)  # "openai/<model>" reaches the fake upstream too


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    base = gateway_config(upstream, passthrough=True)
    fast = base.models["fast"]
    keys = (
        _key(TEAM_A, "team-a", models=("fast",)),
        _key(TEAM_B, "team-b", models=("fast", "cheap", "gpt-test")),
        _key(WATCHER, "watcher", models=("fast",), events="all"),
        _key(PASSTHROUGH, "pass", models=("openai/*",), events="all"),
        _key(MUTED, "muted", events="none"),
    )
    # "cheap" is another public name over the very upstream model of "fast"
    return attrs.evolve(base, models={**base.models, "cheap": fast}, keys=keys)  # type: ignore[arg-type]


@pytest.fixture
async def sdk(port: int) -> AsyncIterator[dict[str, openai.AsyncOpenAI]]:
    clients = {}
    for key in (KEY, TEAM_A, TEAM_B, WATCHER, PASSTHROUGH):
        client = openai.AsyncOpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=DEADLINE
        )
        prepare_sdk_client(client)
        clients[key] = client
    yield clients
    for client in clients.values():
        await client.close()


async def ask(
    client: openai.AsyncOpenAI, model: str, request_id: str, *, stream: bool = False
) -> str:
    headers = {"X-Request-Id": request_id}
    if stream:
        chunks = await client.chat.completions.create(
            model=model, messages=MESSAGES, stream=True, extra_headers=headers
        )
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    reply = await client.chat.completions.create(
        model=model, messages=MESSAGES, extra_headers=headers
    )
    return reply.choices[0].message.content or ""


def done(request_id: str) -> Any:
    return lambda e: e["type"] == "generation.completed" and e["request_id"] == request_id


async def test_a_key_watches_only_its_own_requests_by_default(
    port: int, sdk: dict[str, openai.AsyncOpenAI], routes: Routes
) -> None:
    routes.steps["fast"] = Reply(text="the secret answer")
    with trio.fail_after(DEADLINE):
        async with (
            events_socket(port, key=TEAM_A) as a_ws,
            events_socket(port, key=TEAM_B) as b_ws,
            # asking for another key's request by id shows nothing of it
            events_socket(port, key=TEAM_A, request_id="b-1,a-2") as a_by_id,
        ):
            hello = await subscribed(a_ws)
            await subscribed(b_ws)
            await subscribed(a_by_id)
            assert hello["scope"] == "own"
            await ask(sdk[TEAM_A], "fast", "a-1", stream=True)
            await ask(sdk[TEAM_B], "fast", "b-1", stream=True)
            await ask(sdk[KEY], "fast", "admin-1")
            await ask(sdk[TEAM_B], "race:fast,cheap", "b-race")
            await ask(sdk[TEAM_A], "fast", "a-2")
            await ask(sdk[TEAM_B], "cheap", "b-2")
            a_events = await collect_until(a_ws, done("a-2"))
            b_events = await collect_until(b_ws, done("b-2"))
            by_id = await collect_until(a_by_id, done("a-2"))
    assert {e["request_id"] for e in a_events} == {"a-1", "a-2"}
    assert "".join(e["text"] for e in a_events if e["type"] == "generation.chunk") == (
        "the secret answer"  # a-1's chunks only: a-2 was not streamed
    )
    assert {e["request_id"] for e in b_events} == {"b-1", "b-race/0", "b-race/1", "b-2"}
    assert {e["request_id"] for e in by_id} == {"a-2"}


async def test_events_all_shows_every_call_to_the_keys_models_and_no_other(
    port: int, rt: Runtime, sdk: dict[str, openai.AsyncOpenAI], upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            events_socket(port, key=WATCHER) as watcher,
            events_socket(port, key=KEY) as admin,
        ):
            hello = await subscribed(watcher)
            assert hello["scope"] == "all"
            assert (await subscribed(admin))["scope"] == "all"
            await ask(sdk[TEAM_B], "gpt-test", "b-gpt")
            await ask(sdk[TEAM_B], "cheap", "b-cheap")  # same upstream model as fast
            await ask(sdk[TEAM_B], "fast", "b-fast", stream=True)
            await ask(sdk[KEY], "race:slow,fast", "admin-race")
            await ask(sdk[KEY], "default", "admin-alias")  # -> gpt-test
            # calls the gateway did not make: by their upstream (provider, model)
            options = {"base_url": upstream.base_url, "api_key": UPSTREAM_KEY}
            await rt.create_llm("openai-compatible", "gpt-test", **options).generate("x")
            direct = rt.create_llm("openai-compatible", "fast", **options)
            await direct.generate("x", request_id="direct-fast")
            await ask(sdk[TEAM_A], "fast", "marker")
            seen = await collect_until(watcher, done("marker"))
            everything = await collect_until(admin, done("marker"))
    ids = {e["request_id"] for e in seen}
    assert ids == {"b-fast", "admin-race/1", "direct-fast", "marker"}
    assert {e["model"] for e in seen} == {"fast"}
    # a plain api_keys key sees every call, whoever sent it
    assert {"b-gpt", "b-cheap", "admin-race/0", "admin-alias"} <= {
        e["request_id"] for e in everything
    }


async def test_a_passthrough_pattern_sees_passthrough_calls_only(
    port: int, sdk: dict[str, openai.AsyncOpenAI]
) -> None:
    with trio.fail_after(DEADLINE):
        async with events_socket(port, key=PASSTHROUGH, type="generation.completed") as ws:
            await subscribed(ws)
            await ask(sdk[KEY], "fast", "not-this")
            await ask(sdk[KEY], "openai/gpt-4o", "pass-1")
            await ask(sdk[PASSTHROUGH], "openai/gpt-4o-mini", "pass-2")
            events = await collect_until(ws, done("pass-2"))
    assert [(e["request_id"], e["provider"], e["model"]) for e in events] == [
        ("pass-1", "openai", "gpt-4o"),
        ("pass-2", "openai", "gpt-4o-mini"),
    ]


async def test_events_none_refuses_the_socket_with_4403(port: int) -> None:
    with trio.fail_after(DEADLINE):
        async with events_socket(port, key=MUTED) as ws:
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
    close = closed.value.reason
    assert close is not None and close.code == 4403
    reason = close.reason or ""
    assert 'events = "none"' in reason and MUTED not in reason


async def test_an_open_request_id_cannot_be_taken_by_another_request(
    port: int, sdk: dict[str, openai.AsyncOpenAI], routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(text="slowly now", ttft=0.5)
    with trio.fail_after(DEADLINE):
        async with (
            events_socket(port, key=KEY, request_id="dup-1") as ws,
            trio.open_nursery() as nursery,
        ):
            await subscribed(ws)
            nursery.start_soon(ask, sdk[TEAM_B], "gpt-test", "dup-1")
            assert (await receive(ws))["type"] == "generation.started"
            # were it taken, team-b's socket would show the other key's events
            for key in (TEAM_A, TEAM_B):
                with pytest.raises(openai.ConflictError) as caught:
                    await ask(sdk[key], "fast", "dup-1")
                assert caught.value.code == "request_id_in_use"
            first = await collect_until(ws, done("dup-1"))
        # once it has finished, the id is free again
        assert await ask(sdk[TEAM_A], "fast", "dup-1") == "echo: hi"
    assert {e["model"] for e in first} == {"gpt-test"}


def test_events_is_a_key_setting_in_the_config_file() -> None:
    models = {"fast": {"provider": "openai", "model": "gpt-4o-mini"}}
    config = config_from_mapping(
        {
            "models": models,
            "server": {"api_keys": ["admin-key-1"]},
            "keys": [
                {"name": "team", "key": "team-key-1", "models": ["fast"]},
                {"name": "ops", "key": "ops-key-1", "events": "all"},
            ],
        }
    )
    team, ops = config.keys
    assert (team.events, ops.events) == ("own", "all")
    admin = config.find_key("admin-key-1")
    assert admin is not None and admin.events == "all"
    with pytest.raises(ConfigurationError, match="events must be one of own, all, none"):
        config_from_mapping({"models": models, "keys": [{"key": "k-1", "events": "mine"}]})
