"""The scripting values: replies, tool calls and faults, checked without a server."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import abstractcore_actors.testing as testing
from abstractcore_actors.testing import FakeToolCall, FakeUsage, Fault, Reply


def test_public_names_are_exactly_the_intended_ones() -> None:
    assert set(testing.__all__) == {
        "FakeAnthropicServer",
        "FakeOpenAIServer",
        "FakeServer",
        "FakeToolCall",
        "FakeUsage",
        "Fault",
        "RecordedRequest",
        "Reply",
        "Script",
        "Step",
        "last_user_text",
        "open_fake_anthropic_server",
        "open_fake_openai_server",
        "prepare_sdk_client",
        # a real redis-server for the shared-budget tests
        "REDIS_SERVER",
        "RedisProcess",
        "running_redis",
    }
    public = {name for name in vars(testing) if not name.startswith("_")}
    imported_helpers = {"annotations", "AsyncIterator", "asynccontextmanager", "trio"}
    assert public - imported_helpers == set(testing.__all__)


@given(st.text(alphabet=st.sampled_from("ab \n\té"), max_size=40))
def test_default_pieces_join_back_to_the_text(text: str) -> None:
    pieces = Reply(text=text).pieces()
    assert "".join(pieces) == text
    assert all(pieces)  # no empty chunk on the wire


def test_default_pieces_are_words_with_their_leading_space() -> None:
    assert Reply(text="Hello big  world ").pieces() == ["Hello", " big", "  world", " "]
    assert Reply(chunks=["He", "llo"]).pieces() == ["He", "llo"]
    assert Reply(chunks=["He", "llo"]).full_text == "Hello"


def test_text_and_chunks_must_agree() -> None:
    Reply(text="Hello", chunks=["Hel", "lo"])
    with pytest.raises(ValueError, match="chunks"):
        Reply(text="Hello", chunks=["Bye"])


@pytest.mark.parametrize(
    ("reply", "openai", "anthropic"),
    [
        (Reply(text="x"), "stop", "end_turn"),
        (Reply(tool_calls=[FakeToolCall(name="f")]), "tool_calls", "tool_use"),
        (Reply(text="x", finish_reason="length"), "length", "max_tokens"),
        (Reply(text="x", finish_reason="tool_calls"), "tool_calls", "tool_use"),
        (Reply(text="x", finish_reason="content_filter"), "content_filter", "refusal"),
    ],
)
def test_finish_reason_defaults_and_mapping(reply: Reply, openai: str, anthropic: str) -> None:
    assert reply.openai_finish() == openai
    assert reply.anthropic_finish() == anthropic


def test_values_are_frozen_and_keyword_only() -> None:
    reply = Reply(text="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        reply.text = "y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        FakeUsage(1, 2)  # type: ignore[misc]
    with pytest.raises(ValueError):
        Reply(ttft=-1)
    chunks = ["a", "b"]
    frozen = Reply(chunks=chunks, tool_calls=[FakeToolCall(name="f")])
    chunks.append("c")  # the caller's list was copied
    assert frozen.pieces() == ["a", "b"] and frozen.chunks == ("a", "b")


def test_fault_constructors() -> None:
    assert Fault.status(429, retry_after=2.5) == Fault(
        kind="status",
        status_code=429,
        retry_after=2.5,
        message="fault injected by the fake server",
    )
    stall = Fault.stall(30, after_chunks=2, ttft=1)
    assert (stall.kind, stall.seconds, stall.after_chunks, stall.wait_first()) == (
        "stall",
        30,
        2,
        1,
    )
    assert Fault.sse_error(message="busy").message == "busy"
    custom = Reply(text="a b", ttft=3)
    assert Fault.truncate(reply=custom).scripted_reply() is custom
    assert Fault.truncate(reply=custom).wait_first() == 3  # the reply's ttft when none given
    assert len(Fault.reset().scripted_reply().pieces()) >= 3  # a default reply of a few words
    with pytest.raises(ValueError):
        Fault(kind="explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Fault.reset(after_chunks=-1)
