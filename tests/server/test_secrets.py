"""Provider keys never leave the gateway: not in error bodies, error frames,
events, logs or metrics — even when the upstream echoes the key back in its
own error messages, and even for a key of no known shape (the generic
`sk-...` pattern cannot catch it; only the configured secret can)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import attrs
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig, ModelRoute
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply, open_fake_openai_server

from .conftest import DEADLINE, Routes, chat, gateway_config, http_client, serving

# Shaped like no vendor's key, so only redaction of the configured value hides it.
SECRET = "upstream-Zq81XvP0wLmT5rKcN3yB"


@pytest.fixture
async def upstream(routes: Routes) -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server(routes, api_key=SECRET) as fake:
        yield fake


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    base = gateway_config(upstream)
    models = {
        name: ModelRoute(
            provider="openai-compatible",
            model=name,
            options={"base_url": upstream.base_url, "api_key": SECRET, "max_retries": 0},
        )
        for name in ("gpt-test", "slow", "fast")
    }
    return attrs.evolve(base, models=models)


async def test_an_echoed_upstream_key_reaches_no_client_event_log_or_metric(
    rt: Runtime,
    config: GatewayConfig,
    routes: Routes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    echo = f"Incorrect API key provided: {SECRET}. You can find your key at ..."
    routes.steps = {
        "gpt-test": Fault.status(401, echo),
        "slow": Fault.status(500, f"internal error for key {SECRET}"),
        "fast": Fault.sse_error(after_chunks=1, message=echo, reply=Reply(chunks=["a", "b"])),
    }
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    async with rt.events.subscribe("*", buffer=10_000) as events:
        async with serving(rt, config) as port, http_client(port) as http:
            with trio.fail_after(DEADLINE):
                for model in ("gpt-test", "slow"):
                    response = await http.post("/v1/chat/completions", json=chat(model))
                    assert response.status_code >= 400
                    seen.append(response.text)
                    streamed = await http.post(
                        "/v1/chat/completions", json=chat(model, stream=True)
                    )
                    seen.append(streamed.text)
                cut = await http.post("/v1/chat/completions", json=chat("fast", stream=True))
                assert '"error"' in cut.text  # the upstream's error frame came through
                seen.append(cut.text)
                seen.append((await http.get("/metrics")).text)
        while True:
            try:
                event = events.receive_nowait()
            except trio.WouldBlock:
                break
            seen.append(json.dumps(event.to_dict(), default=str))
            seen.append(repr(event))
    seen.extend(record.getMessage() for record in caplog.records)
    seen.extend(
        logging.Formatter().formatException(record.exc_info)
        for record in caplog.records
        if record.exc_info
    )
    assert any("Incorrect API key provided" in text for text in seen)  # the message got through
    leaks = [text[:200] for text in seen if SECRET in text]
    assert leaks == []
    assert SECRET not in repr(config) and SECRET not in repr(config.models["gpt-test"])
