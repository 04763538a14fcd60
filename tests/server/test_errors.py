"""Every error is OpenAI-shaped with the right status; never a 500 for bad input."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Fault

from .conftest import DEADLINE, UPSTREAM_KEY, Routes, assert_openai_error, chat


async def test_malformed_json_is_400(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", content=b'{"model": ')
    error = assert_openai_error(response, 400)
    assert error["type"] == "invalid_request_error"
    assert "not valid JSON" in str(error["message"])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([1, 2], None),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "gpt-test"}, "messages"),
        ({"model": "gpt-test", "messages": []}, "messages"),
        ({"model": 3, "messages": [{"role": "user", "content": "hi"}]}, "model"),
        (chat(temperature="hot"), "temperature"),
        (chat(temperature=3), "temperature"),
        (chat(top_p=0), "top_p"),
        (chat(max_tokens=0), "max_tokens"),
        (chat(max_tokens=True), "max_tokens"),
        (chat(max_completion_tokens=1.5), "max_completion_tokens"),
        (chat(stop=[1]), "stop"),
        (chat(seed="x"), "seed"),
        (chat(stream="yes"), "stream"),
        (chat(stream_options={"include_usage": 1}), "stream_options.include_usage"),
        (chat(n=2), "n"),
        (chat(tools={"a": 1}), "tools"),
        (chat(tools=[{"type": "function", "function": {"name": 5}}]), "tools[0].function.name"),
        (chat(tool_choice="sometimes"), "tool_choice"),
        (
            {"model": "gpt-test", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
        ),
        (
            {"model": "gpt-test", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
        ),
        ({"model": "gpt-test", "messages": ["hi"]}, "messages[0]"),
        ({"model": "gpt-test", "messages": [{"role": "tool", "content": "x"}]}, None),
        ({"model": "gpt-test", "messages": [{"role": "system", "content": "x"}]}, None),
    ],
)
async def test_wrong_types_and_values_are_400_naming_the_field(
    http: httpx.AsyncClient, body: object, param: str | None
) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=body)
    error = assert_openai_error(response, 400)
    if param is not None:
        assert error["param"] == param


async def test_a_missing_or_wrong_key_is_401(port: int) -> None:
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    async with httpx.AsyncClient(timeout=DEADLINE) as bare:
        with trio.fail_after(DEADLINE):
            missing = await bare.post(url, json=chat())
            wrong = await bare.post(url, json=chat(), headers={"authorization": "Bearer nope"})
            models = await bare.get(f"http://127.0.0.1:{port}/v1/models")
            health = await bare.get(f"http://127.0.0.1:{port}/health")
    for response in (missing, wrong, models):
        assert assert_openai_error(response, 401)["code"] == "invalid_api_key"
    assert health.status_code == 200 and health.json() == {"status": "ok"}


async def test_the_sdk_sees_an_authentication_error(port: int) -> None:
    sdk = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="bad", max_retries=0)
    with trio.fail_after(DEADLINE), pytest.raises(openai.AuthenticationError):
        await sdk.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "x"}]
        )
    await sdk.close()


async def test_an_unknown_model_is_404_listing_the_models(client: openai.AsyncOpenAI) -> None:
    with trio.fail_after(DEADLINE), pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(
            model="nope", messages=[{"role": "user", "content": "x"}]
        )
    message = str(caught.value)
    assert "nope" in message and "gpt-test" in message and "default" in message
    assert caught.value.code == "model_not_found"


async def test_passthrough_off_means_provider_model_is_unknown(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=chat("openai/gpt-4o"))
    assert assert_openai_error(response, 404)["param"] == "model"


async def test_an_oversize_body_is_413(http: httpx.AsyncClient) -> None:
    big = chat(text="x" * 100_000)
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=big)

        async def chunked() -> object:  # no Content-Length: the gateway counts
            for _ in range(100):
                yield b"x" * 1000

        counted = await http.post("/v1/chat/completions", content=chunked())
    assert assert_openai_error(response, 413)["code"] == "request_too_large"
    assert_openai_error(counted, 413)


async def test_unknown_paths_and_methods(http: httpx.AsyncClient) -> None:
    with trio.fail_after(DEADLINE):
        assert_openai_error(await http.get("/v1/nothing"), 404)
        assert_openai_error(await http.get("/nothing"), 404)
        assert_openai_error(await http.get("/v1/chat/completions"), 405)


@pytest.mark.parametrize(
    ("fault", "status", "sdk_error"),
    [
        (Fault.status(429, "slow down", retry_after=7), 429, openai.RateLimitError),
        (Fault.status(500, "boom"), 503, openai.InternalServerError),
        (Fault.status(503, "busy"), 503, openai.InternalServerError),
        (Fault.status(400, "bad thing"), 400, openai.BadRequestError),
        (Fault.status(401, f"wrong key {UPSTREAM_KEY}"), 502, openai.InternalServerError),
    ],
)
async def test_upstream_errors_map_to_statuses(
    client: openai.AsyncOpenAI,
    http: httpx.AsyncClient,
    routes: Routes,
    fault: Fault,
    status: int,
    sdk_error: type[openai.APIStatusError],
) -> None:
    routes.steps["gpt-test"] = fault
    with trio.fail_after(DEADLINE):
        response = await http.post("/v1/chat/completions", json=chat())
        with pytest.raises(sdk_error) as caught:
            await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "x"}]
            )
        streamed = await http.post("/v1/chat/completions", json=chat(stream=True))
    assert caught.value.status_code == status
    for answer in (response, streamed):  # an error before the first chunk: a status
        error = assert_openai_error(answer, status)
        assert UPSTREAM_KEY not in answer.text
        assert "sk-upstream" not in str(error["message"])
    if status == 429:
        assert response.headers["retry-after"] == "7"


async def test_an_error_after_the_upstream_accepted_is_an_error_frame(
    client: openai.AsyncOpenAI, http: httpx.AsyncClient, routes: Routes
) -> None:
    # The upstream answered 200, then sent garbage before any token: our head
    # went out at its 200, so the error is a frame (as OpenAI's own would be);
    # a whole answer still gets a status.
    routes.steps["gpt-test"] = Fault.malformed()
    with trio.fail_after(DEADLINE):
        whole = await http.post("/v1/chat/completions", json=chat())
        streamed = await http.post("/v1/chat/completions", json=chat(stream=True))
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "x"}], stream=True
        )
        with pytest.raises(openai.APIError) as caught:
            async for _ in stream:
                pass
    assert assert_openai_error(whole, 502)["code"] == "upstream_invalid_response"
    assert streamed.status_code == 200
    frames = [line[6:] for line in streamed.text.splitlines() if line.startswith("data: ")]
    error = json.loads(frames[-1])["error"]
    assert error["code"] == "upstream_invalid_response"
    assert "sk-upstream" not in streamed.text
    assert "malformed" in caught.value.message


async def test_an_error_mid_stream_is_an_error_frame(
    client: openai.AsyncOpenAI, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = Fault.reset(after_chunks=2)
    with trio.fail_after(DEADLINE):
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "x"}], stream=True
        )
        with pytest.raises(openai.APIError) as caught:
            async for _ in stream:
                pass
    assert "upstream" in str(caught.value.body) or caught.value.message
