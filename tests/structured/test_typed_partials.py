"""Typed partials (`Partial[T]`), the completion gate, tokens saved by early stops,
and usage kept across a provider error mid-retry."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors import LLM
from abstractcore_actors._structured._incremental import IncrementalJSON
from abstractcore_actors.errors import ProviderError
from abstractcore_actors.structured import (
    Partial,
    generate_structured,
    response_model,
    stream_structured,
)
from abstractcore_actors.testing import FakeOpenAIServer, FakeUsage, Fault, Reply

from .conftest import ADA, PERSON_JSON, Person
from .test_schema import _to_json, people


def _view(data: dict[str, object], *, done: bool = False) -> Partial[Person]:
    return Partial(data, response_model(Person).schema, done=done)


def test_a_partial_reads_fields_by_name_and_knows_which_are_final() -> None:
    view = _view({"name": "Ada", "age": 36, "pets": [{"name": "Tom", "kind": "cat"}, {"na": 1}]})
    assert view.name == "Ada" and view.age == 36
    assert view.mood is None and "mood" not in view  # not started yet
    assert view.is_complete("name") and view.is_complete("age")
    assert not view.is_complete("pets")  # the last field may still grow
    tom, growing = view.pets
    assert isinstance(tom, Partial) and tom.kind == "cat" and tom.done
    assert not growing.done
    assert view.to_dict()["pets"][0] == {"name": "Tom", "kind": "cat"}
    with pytest.raises(AttributeError, match="no field 'nmae'"):
        _ = view.nmae
    with pytest.raises(AttributeError):
        view.is_complete("nmae")
    assert _view({"name": "Ada"}, done=True).is_complete("name")
    assert "growing" in repr(view)


def test_a_dict_schema_with_defs_gives_nested_views() -> None:
    schema = {
        "type": "object",
        "properties": {"owner": {"anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}]}},
        "$defs": {
            "P": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "additionalProperties": False,
            }
        },
        "additionalProperties": False,
    }
    view: Partial[object] = Partial({"owner": {"name": "Al"}}, schema, done=True)
    assert view.owner.name == "Al"
    with pytest.raises(AttributeError):
        _ = view.owner.age


@given(person=people, cuts=st.lists(st.integers(min_value=1, max_value=300), max_size=12))
def test_a_check_comes_whenever_a_value_has_ended(person: Person, cuts: list[int]) -> None:
    # Whatever the chunking, the parser says "moved" on every piece that ends
    # a top-level field, so no finished field is ever judged late.
    text = _to_json(person)
    bounds = sorted({0, len(text), *(c for c in cuts if c < len(text))})
    parser = IncrementalJSON()
    ends = {text.index(f', "{k}"') for k in list(json.loads(text))[1:]}
    for a, b in itertools.pairwise(bounds):
        moved = parser.feed(text[a:b])
        if any(a <= e < b for e in ends):
            assert moved
    assert parser.closed


async def test_a_ui_renders_fields_as_they_complete(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    pieces = [PERSON_JSON[i : i + 3] for i in range(0, len(PERSON_JSON), 3)]
    openai_server.push(Reply(chunks=pieces, token_latency=0.01))
    rendered: dict[str, object] = {}
    async with stream_structured(make_llm("openai"), "Who?", response_model=Person) as s:
        async for partial in s:
            for field in partial:
                if partial.is_complete(field) and field not in rendered:
                    rendered[field] = partial.to_dict()[field]
        last = partial
    assert last.done
    assert rendered == json.loads(PERSON_JSON)


async def test_tokens_saved_by_an_early_stop_are_in_the_usage(
    make_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
) -> None:
    long_bad = json.dumps(
        {
            "name": "Ada",
            "age": "old",
            "mood": "happy",
            "pets": [{"name": "x" * 5, "kind": "cat"}] * 20,
        }
    )
    pieces = [long_bad[i : i + 4] for i in range(0, len(long_bad), 4)]
    good = Reply(text=PERSON_JSON, usage=FakeUsage(prompt_tokens=20, completion_tokens=400))
    openai_server.push(Reply(chunks=pieces, token_latency=0.01), good)
    async with stream_structured(make_llm("openai"), "Who?", response_model=Person) as s:
        result = await s.result()
    stopped, ok = result.attempts
    assert stopped.aborted_after_chunks is not None and ok.ok
    assert result.usage.tokens_saved == 400 - stopped.aborted_after_chunks
    assert result.usage.completion_tokens == 400 + stopped.aborted_after_chunks
    # with no valid answer and no max_tokens, nothing is claimed
    openai_server.push(Reply(chunks=pieces))
    with pytest.raises(Exception) as info:
        async with stream_structured(
            make_llm("openai"), "Who?", response_model=Person, max_attempts=1
        ) as s:
            await s.result()
    assert info.value.usage.tokens_saved == 0  # type: ignore[attr-defined]


async def test_a_provider_error_mid_retry_keeps_the_earlier_attempts_usage(
    make_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    bad = Reply(text='{"name": 1}', usage=FakeUsage(prompt_tokens=10, completion_tokens=7))
    openai_server.push(bad, Fault(kind="status", status_code=400))
    with pytest.raises(ProviderError) as info:
        await generate_structured(make_llm("openai"), "Who?", response_model=Person)
    [first] = info.value.earlier_attempts
    assert first.usage.completion_tokens == 7 and first.problems
    # and the same for a stream
    openai_server.push(bad, Fault(kind="status", status_code=400))
    with pytest.raises(ProviderError) as info:
        async with stream_structured(make_llm("openai"), "Who?", response_model=Person) as s:
            await s.result()
    [first] = info.value.earlier_attempts
    assert first.problems and first.usage.completion_tokens > 0  # stopped: chunks counted
    assert ADA.name == "Ada"
