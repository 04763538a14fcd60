"""GET /metrics: the Prometheus text format, counted from real SDK calls."""

from __future__ import annotations

import functools

import attrs
import httpx
import hypothesis.strategies as st
import openai
import pytest
import trio
from hypothesis import given

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig, serve
from abstractcore_actors.server._exposition import Counter, Histogram, render
from abstractcore_actors.server._metrics import GatewayMetrics, ModelLabels
from abstractcore_actors.testing import FakeOpenAIServer, FakeUsage, Fault, Reply

from . import promtext
from .conftest import DEADLINE, KEY, UPSTREAM_KEY, Routes, chat, gateway_config

MESSAGES = [{"role": "user", "content": "hi"}]


async def scrape(http: httpx.AsyncClient) -> dict[str, promtext.Family]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return promtext.parse(response.text)


async def test_metrics_count_real_calls(
    client: openai.AsyncOpenAI, http: httpx.AsyncClient, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    usage = FakeUsage(prompt_tokens=7, completion_tokens=3)
    routes.steps = {
        "gpt-test": Reply(text="whole", usage=usage),
        "fast": Reply(text="a b c", usage=usage, token_latency=0.01),
        "slow": Fault.status(500, "boom"),
    }
    with trio.fail_after(DEADLINE):
        await client.chat.completions.create(model="gpt-test", messages=MESSAGES)  # type: ignore[arg-type]
        stream = await client.chat.completions.create(
            model="fast",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        _ = [c async for c in stream]
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="slow", messages=MESSAGES)  # type: ignore[arg-type]
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="nope", messages=MESSAGES)  # type: ignore[arg-type]
        # a client that leaves a stream early
        routes.steps["fast"] = Reply(text="word " * 200, token_latency=0.05)
        async with http.stream("POST", "/v1/chat/completions", json=chat("fast", stream=True)) as s:
            async for line in s.aiter_lines():
                if '"content":"word' in line:
                    break
        for _ in range(100):  # the gateway counts the disconnect once it has noticed it
            metrics = await scrape(http)
            if metrics["gateway_requests_cancelled_total"].value() and not upstream.active_requests:
                break
            await trio.sleep(0.02)
    requests = metrics["gateway_requests_total"]
    assert requests.type == "counter"
    assert requests.value(model="gpt-test", provider="openai-compatible", code="200") == 1
    assert requests.value(model="fast", code="200", outcome="ok") == 1
    assert requests.value(model="slow", code="503", outcome="error") == 1
    assert requests.value(model="invalid", code="404") == 1
    assert requests.value(model="fast", outcome="client_disconnect") == 1
    assert requests.value() == 5
    tokens = metrics["gateway_tokens_total"]
    assert tokens.value(model="gpt-test", type="prompt") == 7
    assert tokens.value(model="fast", type="completion") == 3
    errors = metrics["gateway_errors_total"]
    assert errors.value(model="slow", provider="openai-compatible") == 1
    assert errors.value(model="invalid", type="model_not_found") == 1
    assert metrics["gateway_request_duration_seconds"].value("_count") == 5
    ttft = metrics["gateway_time_to_first_token_seconds"]
    assert ttft.type == "histogram" and ttft.value("_count", model="fast") == 2
    assert metrics["gateway_requests_in_flight"].value() == 0
    cancelled = metrics["gateway_requests_cancelled_total"]
    assert cancelled.value(model="fast", reason="client_disconnect") == 1
    # labels never carry the keys
    text = (await http.get("/metrics")).text
    assert KEY not in text and UPSTREAM_KEY not in text


async def test_metrics_auth_is_configurable(rt: Runtime, upstream: FakeOpenAIServer) -> None:
    for metrics_auth, status in ((True, 401), (False, 200)):
        config = gateway_config(upstream, metrics_auth=metrics_auth)
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(functools.partial(serve, rt, config, port=0))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bound}") as anon:
                response = await anon.get("/metrics")
                keyed = await anon.get("/metrics", headers={"authorization": f"Bearer {KEY}"})
            nursery.cancel_scope.cancel()
        assert response.status_code == status
        assert keyed.status_code == 200


def test_model_labels_are_capped() -> None:
    labels = ModelLabels(frozenset({"fast"}), cap=2)
    assert [labels(n) for n in ("fast", "a/1", "a/2", "a/3", "a/1", "x\ny")] == [
        "fast",
        "a/1",
        "a/2",
        "other",
        "a/1",
        "other",
    ]


@given(st.lists(st.text(max_size=30), min_size=1, max_size=5), st.floats(0, 1e6))
def test_any_label_value_round_trips_through_the_format(values: list[str], amount: float) -> None:
    counter = Counter("x_total", "help \\ with\nnewline", ("model",))
    histogram = Histogram("y_seconds", "h", ("model",))
    for value in values:
        counter.inc((value,), amount)
        histogram.observe(amount, (value,))
    families = promtext.parse(render([counter, histogram]).decode())
    for value in set(values):
        expected = amount * values.count(value)
        assert families["x_total"].value(model=value) == pytest.approx(expected)
        assert families["y_seconds"].value("_count", model=value) == values.count(value)


def test_a_fresh_app_has_its_own_numbers() -> None:
    a = GatewayMetrics.for_config(GatewayConfig())
    b = GatewayMetrics.for_config(GatewayConfig())
    a.requests.inc(("chat", "local", "local", "200", "ok"))
    assert a.requests.values and not b.requests.values
    assert attrs.has(type(a))


async def test_embeddings_and_refusals_are_counted(
    rt: Runtime, upstream: FakeOpenAIServer, http: httpx.AsyncClient
) -> None:
    with trio.fail_after(DEADLINE):
        good = await http.post("/v1/embeddings", json={"model": "gpt-test", "input": ["a", "b"]})
        unknown = await http.post("/v1/embeddings", json={"model": "nope", "input": "a"})
        anonymous = await http.post(
            "/v1/chat/completions", json=chat(), headers={"authorization": "Bearer wrong"}
        )
        oversize = await http.post(
            "/v1/chat/completions",
            content=b"{" + b" " * (64 * 1024 + 1),
            headers={"content-type": "application/json"},
        )
        metrics = await scrape(http)
    assert [r.status_code for r in (good, unknown, anonymous, oversize)] == [200, 404, 401, 413]
    requests = metrics["gateway_requests_total"]
    assert requests.value(endpoint="embeddings", model="gpt-test", code="200", outcome="ok") == 1
    assert requests.value(endpoint="embeddings", model="invalid", code="404") == 1
    # refused before the body was read: no model to name
    assert requests.value(endpoint="chat", model="none", code="401", outcome="error") == 1
    assert requests.value(endpoint="chat", model="none", code="413", outcome="error") == 1
    assert requests.value() == 4
    errors = metrics["gateway_errors_total"]
    assert errors.value(endpoint="chat", type="invalid_api_key") == 1
    assert errors.value(endpoint="embeddings", type="model_not_found") == 1
    tokens = metrics["gateway_tokens_total"]
    assert tokens.value(endpoint="embeddings", model="gpt-test", type="prompt") > 0  # its input
    duration = metrics["gateway_request_duration_seconds"]
    assert duration.value("_count", endpoint="embeddings") == 2
    assert metrics["gateway_requests_in_flight"].value() == 0
