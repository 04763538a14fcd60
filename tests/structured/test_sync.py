"""The sync facade's structured calls, from plain code (no trio in this thread)."""

from __future__ import annotations

import threading
import time

import pytest

from abstractcore_actors import StructuredOutputError
from abstractcore_actors.structured import Partial
from abstractcore_actors.sync import SyncRuntime, create_llm
from abstractcore_actors.testing import FakeOpenAIServer, Reply
from tests.providers.test_sync_facade import run_server_in_thread

from .conftest import ADA, API_KEY, PERSON_JSON, Person


def _wait_idle(server: FakeOpenAIServer) -> None:
    deadline = time.monotonic() + 5
    while server.active_requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.active_requests == 0


def test_generate_structured_blocking_retries_with_feedback() -> None:
    def check(server: FakeOpenAIServer) -> None:
        server.push(Reply(text='{"name": "Ada"}'), Reply(text=PERSON_JSON))
        before = threading.active_count()
        with create_llm("openai", "m", base_url=server.base_url, api_key=API_KEY) as llm:
            result = llm.generate_structured("Who?", response_model=Person)
            assert result.value == ADA
            assert [bool(a.problems) for a in result.attempts] == [True, False]
            with pytest.raises(StructuredOutputError) as info:
                server.push(Reply(text="nope"))
                llm.generate_structured("Who?", response_model=Person, max_attempts=1)
            assert [a.raw for a in info.value.attempts] == ["nope"]
            assert API_KEY not in repr(info.value.attempts) + str(info.value)
        assert threading.active_count() <= before  # the runtime's thread is gone

    run_server_in_thread(check)


def test_generate_structured_blocking_concurrent_rounds() -> None:
    def check(server: FakeOpenAIServer) -> None:
        server.push(*[Reply(text="nope")] * 2, *[Reply(text=PERSON_JSON)] * 2)
        with create_llm("openai", "m", base_url=server.base_url, api_key=API_KEY) as llm:
            result = llm.generate_structured(
                "Who?", response_model=Person, concurrent=True, attempts=2
            )
        assert result.value == ADA
        assert [a.round for a in result.attempts] == [0, 0, 1, 1]

    run_server_in_thread(check)


def test_stream_structured_yields_typed_partials_then_the_result() -> None:
    def check(server: FakeOpenAIServer) -> None:
        chunks = [PERSON_JSON[i : i + 8] for i in range(0, len(PERSON_JSON), 8)]
        server.push(Reply(chunks=chunks))
        with SyncRuntime() as rt:
            llm = rt.create_llm("openai", "m", base_url=server.base_url, api_key=API_KEY)
            with llm.stream_structured("Who?", response_model=Person) as stream:
                partials = list(stream)
                result = stream.result()
        assert len(partials) >= 2
        assert all(isinstance(p, Partial) for p in partials)
        assert partials[-1].to_dict()["name"] == "Ada"
        assert result.value == ADA == stream.value
        assert stream.attempt == 0

    run_server_in_thread(check)


def test_breaking_out_of_a_structured_stream_closes_the_upstream_call() -> None:
    def check(server: FakeOpenAIServer) -> None:
        long = '{"name": "' + "a" * 2000 + '", "age": 1, "mood": "sad", "pets": []}'
        server.push(
            Reply(chunks=[long[i : i + 4] for i in range(0, len(long), 4)], token_latency=0.01)
        )
        with SyncRuntime() as rt:
            llm = rt.create_llm("openai", "m", base_url=server.base_url, api_key=API_KEY)
            stream = llm.stream_structured("Who?", response_model=Person)
            for n, _ in enumerate(stream):
                if n == 3:
                    break
            _wait_idle(server)
            with pytest.raises(RuntimeError, match="stopped before its end"):
                stream.result()

    run_server_in_thread(check)


def test_a_session_turn_with_a_response_model_from_sync_code() -> None:
    def check(server: FakeOpenAIServer) -> None:
        server.push(Reply(text="not json"), Reply(text=PERSON_JSON))
        with SyncRuntime() as rt:
            llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url)
            chat = rt.session(llm)
            result = chat.generate("Who?", response_model=Person, mode="prompted")
            assert result.value == ADA
            assert len(result.attempts) == 2
            assert chat.history[-1].content == PERSON_JSON  # the valid answer, as JSON text
            plain = chat.generate("Thanks")  # no response model: a plain answer
            assert plain.content

    run_server_in_thread(check)
