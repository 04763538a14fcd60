"""A runtime, the fake OpenAI and Anthropic servers, LLMs on them, and small models."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import attrs
import pytest

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    open_fake_anthropic_server,
    open_fake_openai_server,
)
from tests.leaks import our_tasks

API_KEY = "sk-test-structured"


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


@attrs.frozen
class Pet:
    name: str
    kind: Literal["cat", "dog"]


@attrs.frozen
class Person:
    name: str
    age: int
    mood: Mood
    pets: list[Pet]
    nickname: str | None = None


PERSON_JSON = (
    '{"name": "Ada", "age": 36, "mood": "happy", '
    '"pets": [{"name": "Tom", "kind": "cat"}], "nickname": null}'
)
ADA = Person(name="Ada", age=36, mood=Mood.HAPPY, pets=[Pet(name="Tom", kind="cat")])


@pytest.fixture
async def rt() -> AsyncIterator[Runtime]:
    async with open_runtime(env={}) as runtime:
        yield runtime
    assert our_tasks() == []


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server() as server:
        yield server


@pytest.fixture
async def anthropic_server() -> AsyncIterator[FakeAnthropicServer]:
    async with open_fake_anthropic_server() as server:
        yield server


@pytest.fixture
def make_llm(
    rt: Runtime, openai_server: FakeOpenAIServer, anthropic_server: FakeAnthropicServer
) -> Callable[..., LLM]:
    """`make_llm("openai" | "openai-compatible" | "anthropic", **options)`."""

    def make(provider: str, **options: Any) -> LLM:
        server = anthropic_server if provider == "anthropic" else openai_server
        return rt.create_llm(
            provider,
            "model-test",
            base_url=server.base_url,
            api_key=API_KEY,
            max_retries=0,
            **options,
        )

    return make
