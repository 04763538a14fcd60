"""`request_timeout` bounds every upstream call: a 504 (or a final error frame
once a stream has begun), the upstream connection closed, and a virtual
model's `?timeout=` may shorten that bound but never lengthen it."""

from __future__ import annotations

import httpx
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply

from .conftest import (
    DEADLINE,
    Routes,
    assert_openai_error,
    chat,
    gateway_config,
    http_client,
    serving,
)

BOUND = 0.3  # the gateway's request_timeout in these tests
STALL = 30.0  # far past every bound here: a test that waits for it fails on DEADLINE


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    return gateway_config(upstream, request_timeout=BOUND)


@pytest.fixture
async def bounded(http: httpx.AsyncClient) -> httpx.AsyncClient:
    return http  # the conftest's gateway, on this module's config


async def _upstream_closed(upstream: FakeOpenAIServer) -> None:
    with trio.fail_after(2):
        await upstream.wait_for_connections(0)
    assert upstream.active_requests == 0


async def test_a_stalled_upstream_is_a_504_within_the_request_timeout(
    bounded: httpx.AsyncClient, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["slow"] = Fault.stall(STALL)
    with trio.fail_after(DEADLINE):
        start = trio.current_time()
        response = await bounded.post("/v1/chat/completions", json=chat("slow"))
        took = trio.current_time() - start
    error = assert_openai_error(response, 504)
    assert error["type"] == "timeout"
    assert BOUND <= took < BOUND + 2
    await _upstream_closed(upstream)


async def test_a_stream_that_stalls_after_its_head_ends_with_an_error_frame(
    bounded: httpx.AsyncClient, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    routes.steps["slow"] = Fault.stall(STALL, after_chunks=2, reply=Reply(chunks=["a", "b", "c"]))
    with trio.fail_after(DEADLINE):
        async with bounded.stream(
            "POST", "/v1/chat/completions", json=chat("slow", stream=True)
        ) as response:
            assert response.status_code == 200  # the head went out at acceptance
            body = (await response.aread()).decode()
    assert '"content":"a"' in body and '"content":"b"' in body
    assert '"content":"c"' not in body
    last = body.strip().split("\n\n")[-1]
    assert last.startswith("data: {") and '"error"' in last and '"timeout"' in last
    assert "[DONE]" not in body  # a cut stream is not a finished one
    await _upstream_closed(upstream)


@pytest.mark.parametrize("model", ["race:slow,slow?timeout=3600", "hedge:slow,slow?timeout=3600"])
async def test_a_virtual_timeout_cannot_outlast_the_gateway_bound(
    bounded: httpx.AsyncClient, upstream: FakeOpenAIServer, routes: Routes, model: str
) -> None:
    routes.steps["slow"] = Fault.stall(STALL)
    with trio.fail_after(DEADLINE):
        start = trio.current_time()
        response = await bounded.post("/v1/chat/completions", json=chat(model))
        took = trio.current_time() - start
    assert_openai_error(response, 504)
    assert took < BOUND + 2  # not an hour
    await _upstream_closed(upstream)


SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
STRUCTURED = {"type": "json_schema", "json_schema": {"name": "A", "schema": SCHEMA}}


@pytest.mark.parametrize(
    "extra", [{}, {"response_format": STRUCTURED}], ids=["plain", "structured"]
)
async def test_a_virtual_timeout_may_be_shorter_than_the_gateway_bound(
    rt: Runtime, upstream: FakeOpenAIServer, routes: Routes, extra: dict[str, object]
) -> None:
    # a structured race runs on its own path (validated attempts): it keeps the bound too
    routes.steps["slow"] = Fault.stall(STALL)
    config = gateway_config(upstream, request_timeout=DEADLINE * 2)
    body = chat("race:slow,slow?timeout=0.2", **extra)
    async with serving(rt, config) as port, http_client(port) as http:
        with trio.fail_after(DEADLINE):
            start = trio.current_time()
            response = await http.post("/v1/chat/completions", json=body)
            took = trio.current_time() - start
    assert_openai_error(response, 504)
    assert took < 3  # the race's 0.2 s, not the gateway's 20 s
    await _upstream_closed(upstream)


def test_every_call_is_bounded_by_default_and_the_toml_can_change_it() -> None:
    from abstractcore_actors.server._config import config_from_mapping

    assert GatewayConfig().request_timeout == 600.0
    assert config_from_mapping({"server": {"request_timeout": 45}}).request_timeout == 45
