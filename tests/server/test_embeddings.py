"""/v1/embeddings through the real openai SDK (base64, which it asks for by
default and decodes, and float) and raw httpx: OpenAI's shape exactly, routing,
OpenAI-shaped errors, and a disconnect that cancels the upstream call."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import struct

import attrs
import httpx
import openai
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig, ModelRoute, serve
from abstractcore_actors.testing import FakeOpenAIServer, Fault

from .conftest import (
    DEADLINE,
    UPSTREAM_KEY,
    assert_openai_error,
    gateway_config,
    sdk_client,
    serving,
)


def expected(text: str) -> list[float]:
    """The fake upstream's vector for `text` (exact in float32)."""
    return [(byte - 128) / 128 for byte in hashlib.sha256(text.encode()).digest()[:8]]


async def test_the_sdk_default_base64_is_decoded_by_the_sdk(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE):
        result = await client.embeddings.create(model="gpt-test", input=["the cat", "sat on"])
    assert result.object == "list"
    assert [d.index for d in result.data] == [0, 1]
    assert [d.object for d in result.data] == ["embedding", "embedding"]
    assert [d.embedding for d in result.data] == [expected("the cat"), expected("sat on")]
    assert result.model == "gpt-test"
    assert result.usage.prompt_tokens == 4 and result.usage.total_tokens == 4
    sent = upstream.requests[-1]
    assert sent.path == "/v1/embeddings" and isinstance(sent.json, dict)
    assert sent.json["input"] == ["the cat", "sat on"]
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"


async def test_float_a_single_string_an_alias_and_dimensions(
    client: openai.AsyncOpenAI, upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE):
        result = await client.embeddings.create(
            model="default", input="hello", encoding_format="float", dimensions=4, user="u-1"
        )
    assert [d.embedding for d in result.data] == [expected("hello")[:4]]
    assert result.model == "default"
    assert isinstance(upstream.requests[-1].json, dict)
    assert upstream.requests[-1].json["model"] == "gpt-test"
    assert upstream.requests[-1].json["dimensions"] == 4


async def test_the_wire_shape_exactly(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        floats = await http.post("/v1/embeddings", json={"model": "gpt-test", "input": ["a"]})
        packed = await http.post(
            "/v1/embeddings",
            json={"model": "gpt-test", "input": ["a"], "encoding_format": "base64"},
        )
    assert floats.status_code == 200, floats.text
    assert floats.headers["content-type"] == "application/json"
    body = floats.json()
    assert body == {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": expected("a")}],
        "model": "gpt-test",
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
    encoded = packed.json()["data"][0]["embedding"]
    assert isinstance(encoded, str)
    assert list(struct.unpack("<8f", base64.b64decode(encoded))) == expected("a")


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({"model": "gpt-test", "input": [1, 2, 3]}, "model", "check_embedding_ctx_length=False"),
        ({"model": "gpt-test", "input": [[1, 2]]}, "model", "only OpenAI's own API"),
        ({"model": "gpt-test", "input": [[1, -2]]}, "input", r"input\[0\]\[1\] must be a token"),
        ({"model": "gpt-test", "input": [[1], []]}, "input", r"input\[1\] must be a non-empty"),
        ({"model": "gpt-test", "input": []}, "input", "nothing to embed"),
        ({"model": "gpt-test", "input": ["a", ""]}, "input", r"texts\[1\] is empty"),
        ({"model": "gpt-test", "input": {"a": 1}}, "input", "a string or an array of strings"),
        ({"model": "gpt-test"}, "input", "input is required"),
        ({"input": "a"}, "model", "model is required"),
        (
            {"model": "gpt-test", "input": "a", "encoding_format": "int8"},
            "encoding_format",
            "'float' or 'base64'",
        ),
        ({"model": "gpt-test", "input": "a", "dimensions": -1}, "dimensions", "positive integer"),
        ({"model": "race:gpt-test,fast", "input": "a"}, "model", "cannot embed"),
        ({"model": "hedge:0.5:gpt-test,fast", "input": "a"}, "model", "cannot embed"),
    ],
)
async def test_bad_requests_are_openai_shaped_400s(
    http: httpx.AsyncClient,
    upstream: FakeOpenAIServer,
    body: dict[str, object],
    param: str,
    message: str,
) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/embeddings", json=body)
    error = assert_openai_error(response, 400)
    assert error["param"] == param
    assert isinstance(error["message"], str)
    assert re.search(message, error["message"])
    assert upstream.requests == []


async def test_unknown_model_auth_method_and_upstream_errors(
    http: httpx.AsyncClient, client: openai.AsyncOpenAI, upstream: FakeOpenAIServer
) -> None:
    with trio.fail_after(DEADLINE):
        unknown = await http.post("/v1/embeddings", json={"model": "nope", "input": "a"})
        anonymous = await http.post(
            "/v1/embeddings",
            json={"model": "gpt-test", "input": "a"},
            headers={"authorization": ""},
        )
        wrong_method = await http.get("/v1/embeddings")
        upstream.push_embedding(Fault.status(503))
        with pytest.raises(openai.InternalServerError) as down:
            await client.embeddings.create(model="gpt-test", input="a")
    assert assert_openai_error(unknown, 404)["code"] == "model_not_found"
    assert_openai_error(anonymous, 401)
    assert_openai_error(wrong_method, 405)
    assert down.value.status_code == 503
    assert UPSTREAM_KEY not in str(down.value.body)


async def test_anthropic_models_cannot_embed(rt: Runtime, upstream: FakeOpenAIServer) -> None:
    claude = ModelRoute(
        provider="anthropic",
        model="claude-test",
        options={"base_url": upstream.origin, "api_key": UPSTREAM_KEY},
    )
    config = GatewayConfig(models={"claude": claude}, passthrough=False)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(functools.partial(serve, rt, config, port=0))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            with trio.fail_after(DEADLINE):
                response = await http.post("/v1/embeddings", json={"model": "claude", "input": "a"})
        nursery.cancel_scope.cancel()
    error = assert_openai_error(response, 400)
    assert error["code"] == "unsupported_operation" and error["param"] == "model"
    assert "Anthropic has no embeddings API" in str(error["message"])


async def test_a_client_that_leaves_cancels_the_upstream_call(
    http: httpx.AsyncClient, upstream: FakeOpenAIServer
) -> None:
    upstream.push_embedding(Fault.stall(30))
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:

            async def ask() -> None:
                await http.post("/v1/embeddings", json={"model": "gpt-test", "input": "a"})

            nursery.start_soon(ask)
            await upstream.wait_for_connections(1)  # the upstream call is under way
            nursery.cancel_scope.cancel()
    with trio.fail_after(2):  # far less than the 30 s stall
        await upstream.wait_for_connections(0)
    assert upstream.active_requests == 0


async def test_a_client_request_id_is_echoed_and_reaches_the_events(
    rt: Runtime, http: httpx.AsyncClient
) -> None:
    async with rt.events.subscribe() as events:
        with trio.fail_after(DEADLINE):
            response = await http.post(
                "/v1/embeddings",
                json={"model": "gpt-test", "input": "a"},
                headers={"x-request-id": "emb-42"},
            )
            assert response.status_code == 200, response.text
            event = await events.receive()
    assert response.headers["x-request-id"] == "emb-42"
    assert event.request_id == "emb-42"
    bad = await http.post(
        "/v1/embeddings", json={"model": "gpt-test", "input": "a"}, headers={"x-request-id": "a b"}
    )
    assert assert_openai_error(bad, 400)["code"] == "invalid_request_id"


@pytest.mark.parametrize(
    ("sent", "forwarded"),
    [([[1, 2], [3]], [[1, 2], [3]]), ([5, 6, 7], [[5, 6, 7]])],
    ids=["arrays", "one-array"],
)
async def test_token_ids_go_to_an_openai_upstream_as_they_are(
    rt: Runtime,
    upstream: FakeOpenAIServer,
    sent: list[object],
    forwarded: list[list[int]],
) -> None:
    """LangChain's default OpenAIEmbeddings sends tiktoken ids: OpenAI takes them."""
    native = ModelRoute(
        provider="openai",
        model="text-embedding-3-small",
        options={"base_url": upstream.base_url, "api_key": UPSTREAM_KEY, "max_retries": 0},
    )
    config = GatewayConfig(models={"embed": native}, passthrough=False)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(functools.partial(serve, rt, config, port=0))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            with trio.fail_after(DEADLINE):
                response = await http.post("/v1/embeddings", json={"model": "embed", "input": sent})
        nursery.cancel_scope.cancel()
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == len(forwarded)
    assert upstream.requests[-1].json["input"] == forwarded


async def test_concurrent_requests_to_a_batching_model_go_upstream_together(
    rt: Runtime, upstream: FakeOpenAIServer
) -> None:
    route = ModelRoute(
        provider="openai-compatible",
        model="gpt-test",
        options={
            "base_url": upstream.base_url,
            "api_key": UPSTREAM_KEY,
            "embed_batching": {"max_delay": 0.1, "idle": 0.1},
        },
    )
    config = attrs.evolve(gateway_config(upstream), models={"batched": route}, aliases={})
    answers: dict[int, list[float]] = {}

    async def one(client: openai.AsyncOpenAI, i: int) -> None:
        answer = await client.embeddings.create(model="batched", input=f"text {i}")
        answers[i] = answer.data[0].embedding

    with trio.fail_after(DEADLINE):
        async with (
            serving(rt, config) as port,
            sdk_client(port) as client,
            trio.open_nursery() as nursery,
        ):
            for i in range(8):
                nursery.start_soon(one, client, i)
    sent = [r.json["input"] for r in upstream.requests if r.path == "/v1/embeddings"]  # type: ignore[index]
    assert len(sent) == 1 and sorted(sent[0]) == sorted(f"text {i}" for i in range(8))
    assert len(answers) == 8 and len({tuple(v) for v in answers.values()}) == 8
