"""`[routers.NAME]` in the gateway: a public name that falls back between
deployments, listed in /v1/models, allowed per key, inside virtual models;
bad router tables stop the config with a line that says what to write."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server import KeyPolicy, hash_key
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply

from .conftest import DEADLINE, UPSTREAM_KEY, Routes, chat, http_client, sdk_client, serving

LIMITED = "gw-limited-key-456"


def toml(upstream: FakeOpenAIServer | None = None, **router: Any) -> dict[str, Any]:
    base_url = upstream.base_url if upstream is not None else "http://127.0.0.1:9/v1"
    options = {"base_url": base_url, "api_key": UPSTREAM_KEY, "max_retries": 0}
    return {
        "server": {"api_keys": ["gw-test-key-123"], "passthrough": False},
        "models": {
            name: {"provider": "openai-compatible", "model": name, "options": options}
            for name in ("flaky", "steady")
        },
        "routers": {
            "main": {
                "deployments": [{"use": "flaky"}, {"use": "steady", "tags": ["tools"]}],
                **router,
            }
        },
    }


@pytest.fixture
def failing_first(routes: Routes) -> Routes:
    routes.steps["flaky"] = [Fault.status(503), Reply(text="flaky recovered")]
    routes.steps["steady"] = Reply(text="steady answer")
    return routes


async def test_a_router_name_falls_back_and_is_listed(
    rt: Runtime, upstream: FakeOpenAIServer, failing_first: Routes
) -> None:
    config = config_from_mapping(toml(upstream))
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port) as http:
            answer = await http.post("/v1/chat/completions", json=chat("main"))
            listed = await http.get("/v1/models")
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "steady answer"
    models = {m["id"]: m["owned_by"] for m in listed.json()["data"]}
    assert models["main"] == "router"
    assert {"flaky", "steady"} <= set(models)


async def test_a_router_streams_through_the_sdk(
    rt: Runtime, upstream: FakeOpenAIServer, failing_first: Routes
) -> None:
    config = config_from_mapping(toml(upstream))
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as sdk:
            stream = await sdk.chat.completions.create(
                model="main", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "steady answer"


async def test_a_router_runs_inside_a_virtual_model(
    rt: Runtime, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["flaky"] = Reply(text="slow " * 30, token_latency=0.1)
    routes.steps["steady"] = Reply(text="quick")
    data = toml(upstream)
    data["routers"]["main"]["deployments"] = [{"use": "steady"}]
    config = config_from_mapping(data)
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port) as http:
            answer = await http.post("/v1/chat/completions", json=chat("race:flaky,main"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "quick"


async def test_a_key_allowed_the_router_may_not_call_its_deployments_directly(
    rt: Runtime, upstream: FakeOpenAIServer, failing_first: Routes
) -> None:
    config = config_from_mapping(toml(upstream))
    limited = KeyPolicy(hash=hash_key(LIMITED), name="limited", models=["main"])
    config = attrs.evolve(config, keys=(limited,))
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port, LIMITED) as http:
            routed = await http.post("/v1/chat/completions", json=chat("main"))
            direct = await http.post("/v1/chat/completions", json=chat("steady"))
            listed = await http.get("/v1/models")
    assert routed.status_code == 200, routed.text
    assert direct.status_code == 404
    assert [m["id"] for m in listed.json()["data"]] == ["main"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategy": "fastest"}, "unknown routing strategy 'fastest'"),
        ({"deployments": []}, r"needs at least one \[\[routers.main.deployments\]\]"),
        ({"deployments": [{"use": "nope"}]}, "use = 'nope' is not a configured model"),
        ({"deployments": [{"model": "x"}]}, 'needs use = "<a configured model>"'),
        ({"deployments": [{"use": "flaky", "weigth": 2}]}, "did you mean weight"),
        ({"deployments": [{"use": "flaky", "weight": 0}]}, "weight must be a number > 0"),
        ({"deployments": [{"use": "flaky"}, {"use": "flaky"}]}, "lists flaky twice"),
        ({"strategi": "x"}, "did you mean strategy"),
    ],
)
def test_a_bad_router_table_says_what_to_write(change: dict[str, Any], message: str) -> None:
    data = toml()
    data["routers"]["main"].update(change)
    with pytest.raises(ConfigurationError, match=message):
        config_from_mapping(data)


def test_a_router_may_not_take_a_model_name() -> None:
    data = toml()
    data["routers"]["flaky"] = data["routers"].pop("main")
    with pytest.raises(ConfigurationError, match="already a model or alias name"):
        config_from_mapping(data)


async def test_deployment_prices_steer_the_cheapest_strategy(
    rt: Runtime, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["flaky"] = Reply(text="from flaky")
    routes.steps["steady"] = Reply(text="from steady")
    data = toml(upstream, strategy="cheapest")
    data["routers"]["main"]["deployments"] = [
        {"use": "flaky", "price": {"input": 9, "output": 9}},
        {"use": "steady", "price": {"input": 1, "output": 1}},
    ]
    config = config_from_mapping(data)
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port) as http:
            answer = await http.post("/v1/chat/completions", json=chat("main"))
    assert answer.json()["choices"][0]["message"]["content"] == "from steady"
    assert answer.json()["usage"]["cost_usd"] > 0  # priced by the deployment's own price


def test_a_bad_deployment_price_is_refused() -> None:
    data = toml()
    data["routers"]["main"]["deployments"] = [{"use": "flaky", "price": {"input": 1}}]
    with pytest.raises(ConfigurationError, match="price needs output"):
        config_from_mapping(data)
