"""Virtual models in the config (`[aliases] best = "race:fast,slow"`), and the
request-body timeout: a client that trickles or stalls its body gets a 408."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest
import trio

from abstractcore_actors import ConfigurationError
from abstractcore_actors.server import GatewayConfig, KeyPolicy, hash_key
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import DEADLINE, KEY, Routes, assert_openai_error, gateway_config

LIMITED = "gw-limited-key-456"
ALIASES = {"default": "gpt-test", "best": "race:slow,fast", "vote": "ensemble:fast,default,fast"}


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    limited = KeyPolicy(hash=hash_key(LIMITED), name="limited", models=["best"])
    return gateway_config(upstream, aliases=ALIASES, keys=(limited,), body_timeout=0.3)


def _models(**extra: object) -> dict[str, object]:
    return {"models": {"fast": {"provider": "openai"}, "slow": {"provider": "openai"}}, **extra}


def test_a_toml_alias_may_name_a_virtual_model() -> None:
    config = config_from_mapping(_models(aliases={"best": "race:fast,slow?timeout=5"}))
    assert config.is_virtual_name("best") and not config.is_virtual_name("fast")
    assert "best" in config.public_names()


@pytest.mark.parametrize(
    "target, words",
    [
        ("race:fast,nope", "'nope', which is not a configured model"),
        ("race:fast,best2", "itself a virtual model"),
        ("ensemble:fast,slow?combine=best", "combine must be one of"),
        ("race:fast,slow?after=1", "valid options"),
    ],
)
def test_a_bad_virtual_alias_fails_at_load_naming_the_fix(target: str, words: str) -> None:
    aliases = {"best": target, "best2": "race:fast,slow"}
    with pytest.raises(ConfigurationError, match="alias 'best'") as failed:
        config_from_mapping(_models(aliases=aliases))
    assert words in str(failed.value)


async def test_a_virtual_alias_answers_as_its_pattern(
    client: openai.AsyncOpenAI, routes: Routes, http: httpx.AsyncClient
) -> None:
    routes.steps["slow"] = Reply(text="late", ttft=5)
    routes.steps["fast"] = Reply(text="Paris")
    routes.steps["gpt-test"] = Reply(text="Lyon")
    with trio.fail_after(DEADLINE):
        raced = await client.chat.completions.create(
            model="best",
            messages=[{"role": "user", "content": "Capital of France?"}],
        )
        stream = await client.chat.completions.create(
            model="best",
            messages=[{"role": "user", "content": "Capital of France?"}],
            stream=True,
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        voted = await client.chat.completions.create(
            model="vote",
            messages=[{"role": "user", "content": "Capital of France?"}],
        )
        listed = {m.id: m.owned_by for m in (await client.models.list()).data}
        embedded = await http.post("/v1/embeddings", json={"model": "best", "input": "a"})
    assert raced.choices[0].message.content == "Paris" and raced.model == "best"
    assert streamed == "Paris"
    assert voted.choices[0].message.content == "Paris"  # two of three
    assert listed["best"] == "virtual" and listed["fast"] == "openai-compatible"
    error = assert_openai_error(embedded, 400)
    assert "cannot embed" in str(error["message"])


async def test_a_key_allowed_the_alias_may_use_it_but_not_its_members(
    port: int, routes: Routes
) -> None:
    routes.steps["slow"] = Reply(text="late", ttft=5)
    routes.steps["fast"] = Reply(text="quick")
    limited = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=LIMITED, max_retries=0, timeout=DEADLINE
    )
    async with limited:
        with trio.fail_after(DEADLINE):
            answer = await limited.chat.completions.create(
                model="best", messages=[{"role": "user", "content": "hi"}]
            )
            with pytest.raises(openai.NotFoundError):
                await limited.chat.completions.create(
                    model="fast", messages=[{"role": "user", "content": "hi"}]
                )
            listed = [m.id for m in (await limited.models.list()).data]
    assert answer.choices[0].message.content == "quick"
    assert listed == ["best"]


async def test_a_stalled_body_is_a_408_and_the_connection_closes(port: int) -> None:
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        "Content-Length: 200\r\n\r\n"
    ).encode()
    with trio.fail_after(DEADLINE):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            start = trio.current_time()
            await stream.send_all(head + b'{"model": "gpt-test", ')  # and then nothing
            answer = b""
            while chunk := await stream.receive_some(65536):
                answer += chunk
            took = trio.current_time() - start
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 408 ")
    assert b'"code": "request_timeout"' in rest
    assert 0.3 <= took < 3  # the body timeout, then the server closed the connection


async def test_a_whole_body_within_the_timeout_is_answered(
    http: httpx.AsyncClient, routes: Routes
) -> None:
    routes.steps["gpt-test"] = Reply(text="fine")

    async def slowly() -> AsyncIterator[bytes]:
        yield b'{"model": "gpt-test", '
        await trio.sleep(0.1)  # well within the 0.3 s body timeout
        yield b'"messages": [{"role": "user", "content": "hi"}]}'

    with trio.fail_after(DEADLINE):
        response = await http.post(
            "/v1/chat/completions", content=slowly(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "fine"
