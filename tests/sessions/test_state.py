"""History as state: save/load (versioned JSON, round trip by hypothesis), clear,
and supervision (a crashed session restarts with its history; others go on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractcore_actors import (
    LLM,
    ActorCrashed,
    Image,
    Message,
    Runtime,
    ToolCall,
    ValidationError,
)
from abstractcore_actors.sessions import Entry, SessionState

from .conftest import Model

_text = st.text(max_size=40)
_json_scalars = st.none() | st.booleans() | st.integers() | _text
_arguments = st.dictionaries(_text, _json_scalars, max_size=3)
_tool_calls = st.lists(
    st.builds(ToolCall, id=_text, name=_text, arguments=_arguments, raw_arguments=_text),
    max_size=2,
).map(tuple)
_images = st.lists(
    st.builds(
        Image,
        st.sampled_from(["https://example.com/a.png", "data:image/png;base64,iVBORw0KGgo="]),
        st.sampled_from([None, "low", "high", "auto"]),
    ),
    max_size=2,
)
_messages = st.one_of(
    st.builds(Message.user, _text, _images),
    st.builds(Message.system, _text),
    st.builds(Message.assistant, _text, _tool_calls),
    st.builds(Message, role=st.just("tool"), content=_text, tool_call_id=_text, name=_text),
)
_entries = st.builds(
    Entry,
    message=_messages,
    status=st.sampled_from(["complete", "interrupted", "cancelled", "injected"]),
)
_states = st.builds(
    SessionState,
    session_id=_text,
    system_prompt=st.none() | _text,
    entries=st.lists(_entries, max_size=6),
    pending=st.lists(_messages, max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(state=_states)
def test_saved_json_round_trips_any_state(state: SessionState) -> None:
    loaded = SessionState.from_json(state.to_json())
    assert loaded.session_id == state.session_id
    assert loaded.system_prompt == state.system_prompt
    assert loaded.entries == state.entries
    assert loaded.pending == state.pending


async def test_save_and_load_through_the_session(
    rt: Runtime, llm: LLM, model: Model, tmp_path: Path
) -> None:
    s = rt.session(llm, system_prompt="rules")
    await s.generate("remember this")
    await s.inject("later context")
    path = tmp_path / "chat.json"
    await s.save(path)
    saved = json.loads(path.read_text())
    assert saved["format"] == "abstractcore-actors/session" and saved["version"] == 1
    other = rt.session(llm)
    await other.load(path)
    assert other.history == s.history and other.system_prompt == "rules"
    assert other.pending == (Message.user("later context"),)
    await other.generate("go on")
    assert [m["content"] for m in model.seen[-1]][:4] == [
        "rules",
        "remember this",
        "echo: remember this",
        "later context",
    ]


async def test_load_rejects_other_files_with_clear_errors(
    rt: Runtime, llm: LLM, tmp_path: Path
) -> None:
    s = rt.session(llm)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValidationError, match="not JSON"):
        await s.load(bad)
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValidationError, match="not a saved session"):
        await s.load(bad)
    bad.write_text(json.dumps({"format": "abstractcore-actors/session", "version": 99}))
    with pytest.raises(ValidationError, match=r"version 99.*upgrade"):
        await s.load(bad)
    bad.write_text(
        json.dumps({"format": "abstractcore-actors/session", "version": 1, "entries": []})
    )
    with pytest.raises(ValidationError, match="damaged"):
        await s.load(bad)


async def test_clear_forgets_history_and_queued_context(rt: Runtime, llm: LLM) -> None:
    s = rt.session(llm)
    await s.generate("one")
    await s.inject("queued")
    await s.clear()
    assert s.history == () and s.pending == ()
    assert (await s.generate("two")).content == "echo: two"


async def test_a_crashed_session_restarts_with_history_and_others_go_on(
    rt: Runtime, llm: LLM, model: Model, autojump_clock: trio.testing.MockClock
) -> None:
    model.token_latency = 0.5
    a, b = rt.session(llm), rt.session(llm)
    await a.generate("keep me")
    outcome: dict[str, object] = {}

    async def long_turn() -> None:
        outcome["b"] = await b.generate("one two three four five six")

    async def doomed_turn() -> None:
        try:
            await a.generate("one two three four five six")
        except ActorCrashed as exc:
            outcome["a"] = exc

    async with trio.open_nursery() as nursery:
        nursery.start_soon(long_turn)
        nursery.start_soon(doomed_turn)
        await trio.sleep(1)
        await a.actor.tell("not a session message")  # crashes a's actor
    assert isinstance(outcome["a"], ActorCrashed)
    assert outcome["b"].content == "echo: one two three four five six"  # type: ignore[attr-defined]
    assert a.actor.restarts == 1 and b.actor.restarts == 0
    assert a.history[0].content == "keep me"  # the state survived the restart
    assert (await a.generate("still here?")).content == "echo: still here?"
