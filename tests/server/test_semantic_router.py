"""A semantic router in the gateway's TOML: `[routers.X] strategy =
"semantic"` with `[[routes]]`, answered through the real openai SDK by the
route the request means (the local embedding model), the default below the
threshold, the scores on /v1/events' RouteChosen, and the config's errors."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.events import RouteChosen
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import DEADLINE, UPSTREAM_KEY, Routes, sdk_client, serving

pytestmark = pytest.mark.local_model


def toml(upstream: FakeOpenAIServer | None = None, **router: Any) -> dict[str, Any]:
    base_url = upstream.base_url if upstream is not None else "http://127.0.0.1:9/v1"
    options = {"base_url": base_url, "api_key": UPSTREAM_KEY, "max_retries": 0}
    return {
        "server": {"api_keys": ["gw-test-key-123"], "passthrough": False},
        "models": {
            name: {"provider": "openai-compatible", "model": name, "options": options}
            for name in ("coder", "accountant", "chatty")
        },
        "routers": {
            "support": {
                "strategy": "semantic",
                "default": "chatty",
                "routes": [
                    {
                        "target": "coder",
                        "examples": ["How do I reverse a list in Python?", "fix my bash script"],
                    },
                    {
                        "target": "accountant",
                        "examples": ["I was charged twice", "How do I get a refund?"],
                    },
                    {"target": "chatty"},
                ],
                **router,
            }
        },
    }


@pytest.fixture
def answers(routes: Routes) -> Routes:
    for name in ("coder", "accountant", "chatty"):
        routes.steps[name] = Reply(text=f"{name} here")
    return routes


async def test_requests_go_to_the_route_they_mean(
    rt: Runtime, upstream: FakeOpenAIServer, answers: Routes
) -> None:
    config = config_from_mapping(toml(upstream))
    async with rt.events.subscribe([RouteChosen]) as events:
        with trio.fail_after(DEADLINE * 3):
            async with serving(rt, config) as port, sdk_client(port) as client:
                said = {}
                for text in (
                    "my javascript promise never resolves",
                    "please refund the duplicate payment",
                    "good morning! how are you today?",
                ):
                    answer = await client.chat.completions.create(
                        model="support", messages=[{"role": "user", "content": text}]
                    )
                    said[text] = answer.choices[0].message.content
            chosen = [await events.receive() for _ in range(3)]
    assert list(said.values()) == ["coder here", "accountant here", "chatty here"], [
        (c.reason, c.scores)
        for c in chosen  # type: ignore[attr-defined]
    ]
    first = chosen[0]
    assert isinstance(first, RouteChosen) and first.router == "support"
    assert first.scores[0][0] == "coder" and first.scores[0][1] >= 0.25
    assert "default" in chosen[2].reason  # small talk: below the threshold


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"routes": [{"target": "nobody", "examples": ["x"]}]}, "'nobody' is not a configured"),
        ({"default": "coderx"}, "default = 'coderx' is not one of its routes"),
        ({"threshold": 2}, "threshold must be a cosine similarity"),
        ({"routes": [{"target": "coder"}, {"target": "chatty"}]}, "'coder' needs examples"),
        ({"embedding_model": "nope"}, "embedding_model = 'nope' is not a configured model"),
        ({"deployments": []}, "deployments are for the other strategies"),
    ],
)
def test_config_errors_say_what_to_fix(change: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        config_from_mapping(toml(**change))


def test_routes_may_not_go_round_in_a_circle() -> None:
    data = toml()
    data["routers"]["other"] = {
        "strategy": "semantic",
        "routes": [{"target": "support", "examples": ["x"]}, {"target": "chatty"}],
        "default": "chatty",
    }
    data["routers"]["support"]["routes"].append({"target": "other", "examples": ["y"]})
    with pytest.raises(ConfigurationError, match="circle: support -> other -> support"):
        config_from_mapping(data)
