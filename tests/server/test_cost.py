"""The gateway says what each call cost: `usage.cost_usd` (an extension field
OpenAI clients ignore) and `x-abstractcore-cost-usd` on whole answers, the
final usage chunk of a stream; "unknown"/null, never 0, without a price."""

from __future__ import annotations

import attrs
import httpx
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeUsage, Reply

from .conftest import DEADLINE, Routes, chat, http_client, sdk_client, serving

USAGE = FakeUsage(prompt_tokens=1000, completion_tokens=200)
PRICES = {"gpt-test": {"input": 2, "output": 10}}  # USD per 1M tokens
COST = (1000 * 2 + 200 * 10) / 1e6


@pytest.fixture
def priced(config: GatewayConfig, routes: Routes) -> GatewayConfig:
    routes.steps["gpt-test"] = Reply(text="priced answer", usage=USAGE)
    routes.steps["fast"] = Reply(text="unpriced answer", usage=USAGE)
    return attrs.evolve(config, prices=PRICES)


async def test_a_whole_answer_reports_its_cost(rt: Runtime, priced: GatewayConfig) -> None:
    with trio.fail_after(DEADLINE):
        async with serving(rt, priced) as port, http_client(port) as http:
            answer = await http.post("/v1/chat/completions", json=chat())
            unpriced = await http.post("/v1/chat/completions", json=chat("fast"))
    assert answer.status_code == 200
    assert answer.json()["usage"]["cost_usd"] == pytest.approx(COST)
    assert float(answer.headers["x-abstractcore-cost-usd"]) == pytest.approx(COST)
    assert unpriced.json()["usage"]["cost_usd"] is None
    assert unpriced.headers["x-abstractcore-cost-usd"] == "unknown"


async def test_a_stream_reports_its_cost_in_its_last_usage(
    rt: Runtime, priced: GatewayConfig
) -> None:
    with trio.fail_after(DEADLINE):
        async with serving(rt, priced) as port, sdk_client(port) as sdk:
            stream = await sdk.chat.completions.create(
                model="gpt-test",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            last = None
            async for chunk in stream:
                last = chunk
    assert last is not None and last.usage is not None
    assert last.usage.prompt_tokens == 1000
    # the SDK keeps fields it does not know
    assert last.usage.model_extra == {"cost_usd": pytest.approx(COST)}


async def test_a_race_reports_what_its_losers_cost_too(
    rt: Runtime, priced: GatewayConfig, routes: Routes
) -> None:
    routes.steps["slow"] = Reply(text="slow " * 30, token_latency=0.2, usage=USAGE)
    config = attrs.evolve(priced, prices={**PRICES, "slow": {"input": 2, "output": 10}})
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port) as http:
            answer = await http.post("/v1/chat/completions", json=chat("race:gpt-test,slow"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["usage"]["prompt_tokens"] == 1000  # the winner's usage, as OpenAI's
    assert body["usage"]["cost_usd"] > COST  # the cancelled loser's prompt was paid for


def test_bad_prices_stop_the_config_naming_them() -> None:
    with pytest.raises(ConfigurationError, match=r"\[prices\].*needs output"):
        config_from_mapping({"prices": {"m": {"input": 1}}})
    config = config_from_mapping({"prices": {"openai/gpt-4o": {"input": 1, "output": 2}}})
    assert config.prices == {"openai/gpt-4o": {"input": 1, "output": 2}}


async def test_no_price_header_leaks_into_errors(rt: Runtime, priced: GatewayConfig) -> None:
    with trio.fail_after(DEADLINE):
        async with serving(rt, priced) as port, http_client(port) as http:
            missing = await http.post("/v1/chat/completions", json=chat("nope"))
    assert missing.status_code == 404
    assert "x-abstractcore-cost-usd" not in missing.headers
    assert isinstance(missing, httpx.Response)


async def test_serve_reads_the_prices_before_it_listens(rt: Runtime, priced: GatewayConfig) -> None:
    """The first lookup reads the whole data set: done in a thread at start-up,
    not on the event loop during the first request."""
    with trio.fail_after(DEADLINE):
        async with serving(rt, priced):
            known = set(rt.prices._known)
    assert {key[:2] for key in known} >= {("openai-compatible", "gpt-test")}
