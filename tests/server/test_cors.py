"""CORS for pages on other origins (`cors_origins`), and GET /v1/models/{model}
(the openai SDK's `models.retrieve`)."""

from __future__ import annotations

import httpx
import openai
import pytest
import trio

from abstractcore_actors import ConfigurationError, Runtime
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeOpenAIServer

from .conftest import DEADLINE, assert_openai_error, chat, gateway_config, http_client, serving

APP = "https://app.example"
PREFLIGHT = {
    "origin": APP,
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
}


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    return gateway_config(upstream, cors_origins=[APP])


async def test_a_listed_origin_gets_its_preflight_and_may_read_answers(
    http: httpx.AsyncClient,
) -> None:
    with trio.fail_after(DEADLINE):
        preflight = await http.options("/v1/chat/completions", headers=PREFLIGHT)
        answer = await http.post("/v1/chat/completions", json=chat(), headers={"origin": APP})
        error = await http.post("/v1/chat/completions", json=chat("nope"), headers={"origin": APP})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == APP
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"]
    assert "authorization" in allowed and "content-type" in allowed and "x-request-id" in allowed
    assert preflight.headers["vary"] == "Origin"
    for response in (answer, error):  # errors too: the page must be able to read why
        assert response.headers["access-control-allow-origin"] == APP
        assert "x-request-id" in response.headers["access-control-expose-headers"]
    assert answer.status_code == 200 and error.status_code == 404


async def test_another_origin_gets_no_cors_headers(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        preflight = await http.options(
            "/v1/chat/completions", headers={**PREFLIGHT, "origin": "https://evil.example"}
        )
        answer = await http.post(
            "/v1/chat/completions", json=chat(), headers={"origin": "https://evil.example"}
        )
    assert preflight.status_code == 405  # no preflight for it: the browser refuses
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in answer.headers


async def test_without_cors_origins_nothing_changes(
    rt: Runtime, upstream: FakeOpenAIServer
) -> None:
    async with serving(rt, gateway_config(upstream)) as port, http_client(port) as http:
        with trio.fail_after(DEADLINE):
            preflight = await http.options("/v1/chat/completions", headers=PREFLIGHT)
            answer = await http.post("/v1/chat/completions", json=chat(), headers={"origin": APP})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "origins", [["https://app.example/"], ["app.example"], ["ftp://x"], "https://a.example", [3]]
)
def test_bad_origins_fail_at_load(origins: object) -> None:
    models = {"fast": {"provider": "openai"}}
    with pytest.raises(ConfigurationError, match="cors_origins"):
        config_from_mapping({"server": {"cors_origins": origins}, "models": models})


async def test_models_retrieve(client: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        found = await client.models.retrieve("fast")
        alias = await client.models.retrieve("default")
        with pytest.raises(openai.NotFoundError) as missing:
            await client.models.retrieve("nope")
        posted = await http.post("/v1/models/fast")
    assert (found.id, found.object, found.owned_by) == ("fast", "model", "openai-compatible")
    assert alias.id == "default"
    assert missing.value.code == "model_not_found"
    assert "Available models" in str(missing.value)
    assert_openai_error(posted, 405)
