"""Per-key policies: model allowlists, concurrency limits and token caps,
through the real openai SDK (async and sync clients)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import attrs
import openai
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server import GatewayConfig, KeyPolicy, hash_key, serve
from abstractcore_actors.server._config import config_from_mapping
from abstractcore_actors.testing import FakeOpenAIServer, Reply, prepare_sdk_client

from .conftest import DEADLINE, KEY, Routes, gateway_config

TEAM_KEY = "gw-team-a-key-456"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def config(upstream: FakeOpenAIServer) -> GatewayConfig:
    team = KeyPolicy(
        hash=hash_key(TEAM_KEY),
        name="team-a",
        models=("fast", "default"),
        max_concurrent=1,
        max_tokens=5,
    )
    return attrs.evolve(gateway_config(upstream), keys=(team,))


@pytest.fixture
async def team(port: int) -> AsyncIterator[openai.AsyncOpenAI]:
    sdk = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=TEAM_KEY, max_retries=0, timeout=DEADLINE
    )
    prepare_sdk_client(sdk)
    yield sdk
    await sdk.close()


async def test_a_key_uses_only_its_models(
    team: openai.AsyncOpenAI, client: openai.AsyncOpenAI
) -> None:
    with trio.fail_after(DEADLINE):
        ok = await team.chat.completions.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
        alias = await team.chat.completions.create(model="default", messages=MESSAGES)  # type: ignore[arg-type]
        race = await team.chat.completions.create(model="race:fast,default", messages=MESSAGES)  # type: ignore[arg-type]
        for model in ("slow", "gpt-test", "race:fast,slow", "hedge:fast,slow?after=1"):
            with pytest.raises(openai.NotFoundError) as caught:
                await team.chat.completions.create(model=model, messages=MESSAGES)  # type: ignore[arg-type]
            assert caught.value.code == "model_not_found"
            # the message lists what this key may use, never the other models
            listed = str(caught.value.message).split("Available models:")[1]
            assert "fast" in listed and "slow" not in listed and "gpt-test" not in listed
        listed_models = {m.id async for m in team.models.list()}
        everything = {m.id async for m in client.models.list()}
    assert ok.choices[0].message.content == "echo: hi"
    assert alias.choices[0].message.content == race.choices[0].message.content == "echo: hi"
    assert listed_models == {"fast", "default"}
    assert everything == {"fast", "slow", "gpt-test", "default"}


async def test_embeddings_follow_the_keys_allowlist(team: openai.AsyncOpenAI) -> None:
    with trio.fail_after(DEADLINE):
        allowed = await team.embeddings.create(model="fast", input="hello")
        with pytest.raises(openai.NotFoundError) as caught:
            await team.embeddings.create(model="slow", input="hello")
    assert len(allowed.data) == 1 and allowed.data[0].embedding
    assert caught.value.code == "model_not_found"
    assert "slow" not in str(caught.value.message).split("Available models:")[1]


async def test_a_key_over_its_concurrency_gets_429_then_recovers(
    team: openai.AsyncOpenAI, client: openai.AsyncOpenAI, routes: Routes
) -> None:
    routes.steps["fast"] = [Reply(text="a b c", token_latency=0.3), Reply(text="again")]
    with trio.fail_after(DEADLINE):
        stream = await team.chat.completions.create(model="fast", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        with pytest.raises(openai.RateLimitError) as caught:
            await team.chat.completions.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
        # another key is not limited by this one's count
        other = await client.chat.completions.create(model="gpt-test", messages=MESSAGES)  # type: ignore[arg-type]
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        after = await team.chat.completions.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "1"
    assert other.choices[0].message.content == "echo: hi"
    assert text == "a b c"
    assert after.choices[0].message.content == "again"


async def test_a_keys_max_tokens_caps_the_upstream_request(
    port: int, upstream: FakeOpenAIServer
) -> None:
    def ask() -> str | None:
        # the sync client, in a worker thread: the trio loop keeps serving
        with openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=TEAM_KEY, max_retries=0, timeout=5
        ) as sdk:
            prepare_sdk_client(sdk)
            reply = sdk.chat.completions.create(
                model="fast",
                messages=MESSAGES,  # type: ignore[arg-type]
                max_tokens=100,
            )
            with pytest.raises(openai.NotFoundError):
                sdk.chat.completions.create(model="slow", messages=MESSAGES)  # type: ignore[arg-type]
            return reply.choices[0].message.content

    with trio.fail_after(DEADLINE):
        content = await trio.to_thread.run_sync(ask)
    assert content == "echo: hi"
    sent = upstream.requests[-1].json
    assert isinstance(sent, dict)
    assert (sent.get("max_tokens") or sent.get("max_completion_tokens")) == 5


async def test_an_unknown_key_is_401_and_a_plain_hash_may_do_everything(
    rt: Runtime, upstream: FakeOpenAIServer
) -> None:
    config = gateway_config(upstream)  # KEY is a plain api_key_hashes entry
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(functools.partial(serve, rt, config, port=0))
        base = f"http://127.0.0.1:{bound}/v1"
        async with openai.AsyncOpenAI(base_url=base, api_key="nope", max_retries=0) as bad:
            with pytest.raises(openai.AuthenticationError):
                await bad.chat.completions.create(model="fast", messages=MESSAGES)  # type: ignore[arg-type]
        async with openai.AsyncOpenAI(base_url=base, api_key=KEY, max_retries=0) as good:
            reply = await good.chat.completions.create(model="slow", messages=MESSAGES)  # type: ignore[arg-type]
        nursery.cancel_scope.cancel()
    assert reply.choices[0].message.content == "echo: hi"


def test_keys_from_toml_mapping() -> None:
    config = config_from_mapping(
        {
            "server": {"api_key_hashes": [hash_key("plain")], "metrics_auth": False},
            "keys": [
                {"name": "ci", "key": "ci-key", "models": ["local", "openai/*"], "max_tokens": 64},
                {"hash": hash_key("ops"), "max_concurrent": 2},
            ],
        }
    )
    ci = config.find_key("ci-key")
    ops = config.find_key("ops")
    plain = config.find_key("plain")
    assert ci is not None and ci.name == "ci" and ci.max_tokens == 64
    assert ci.allows("openai/gpt-4o") and ci.allows("local") and not ci.allows("anthropic/x")
    assert ops is not None and ops.max_concurrent == 2 and ops.name.startswith("key-")
    assert plain is not None and plain.models is None
    assert config.find_key("other") is None
    assert "ci-key" not in repr(config) and "ci-key" not in repr(ci)
    assert config.metrics_auth is False


@pytest.mark.parametrize(
    "spec, words",
    [
        ({"name": "x"}, "exactly one of hash or key"),
        ({"key": "a", "hash": hash_key("a")}, "exactly one of hash or key"),
        ({"hash": "not-a-hash"}, "64 hex digits"),
        ({"key": "a", "max_concurrent": 0}, "max_concurrent"),
        ({"key": "a", "models": "fast"}, "list of model names"),
        ({"key": "a", "modles": ["fast"]}, "modles .modles: did you mean models"),
    ],
)
def test_bad_key_entries_are_clear(spec: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigurationError, match=words.replace("[", r"\[").replace("]", r"\]")):
        config_from_mapping({"keys": [spec]})


def test_two_keys_with_one_name_are_refused() -> None:
    a = KeyPolicy(hash=hash_key("a"), name="same")
    b = KeyPolicy(hash=hash_key("b"), name="same")
    with pytest.raises(ConfigurationError, match="same name"):
        GatewayConfig(keys=(a, b))
