"""Events from real provider calls (fake OpenAI server over loopback HTTP):
what a UI following the bus sees for answers, streams, retries, errors and
cancels; and, with hypothesis, per-request order across concurrent requests."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import LLM, AuthenticationError, ProviderUnavailable, Runtime, open_runtime
from abstractcore_actors.events import (
    CallCancelled,
    ErrorOccurred,
    Event,
    FirstToken,
    GenerationChunk,
    GenerationCompleted,
    GenerationStarted,
    RetryAttempted,
    RetryExhausted,
)
from abstractcore_actors.testing import (
    FakeOpenAIServer,
    Fault,
    RecordedRequest,
    Reply,
    last_user_text,
    open_fake_openai_server,
)
from tests.leaks import our_tasks


async def test_stream_events_in_order_with_first_token_and_usage(
    rt: Runtime, llm: LLM, server: FakeOpenAIServer
) -> None:
    server.push(Reply(chunks=["Hel", "lo", "!"]))
    async with rt.events.subscribe() as events:
        async with llm.stream("hi") as stream:
            text = "".join([c.text async for c in stream])
        got = _drain(events)
    assert text == "Hello!"
    kinds = [type(e) for e in got]
    assert kinds[:2] == [GenerationStarted, GenerationChunk] or kinds[:3] == [
        GenerationStarted,
        FirstToken,
        GenerationChunk,
    ]
    assert kinds[-1] is GenerationCompleted
    assert FirstToken in kinds
    assert "".join(e.text for e in got if isinstance(e, GenerationChunk)) == "Hello!"
    assert [e.seq for e in got] == list(range(1, len(got) + 1))
    assert {e.request_id for e in got} == {stream.request_id}
    done = got[-1]
    assert isinstance(done, GenerationCompleted)
    assert done.finish_reason == "stop" and done.completion_tokens > 0
    assert done.provider == "openai-compatible" and done.model == "fake-model"


async def test_generate_events_and_retry_events(
    rt: Runtime, llm: LLM, server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    server.push(Fault.status(503), Reply(text="ok"))
    async with rt.events.subscribe() as events:
        reply = await llm.generate("hi")
        got = _drain(events)
    assert reply.content == "ok"
    assert [type(e) for e in got] == [GenerationStarted, RetryAttempted, GenerationCompleted]
    retry = got[1]
    assert isinstance(retry, RetryAttempted)
    assert retry.attempt == 1 and retry.error_type == "ProviderUnavailable" and retry.delay >= 0


async def test_exhausted_retries_then_error_event(
    rt: Runtime, llm: LLM, server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    server.push(*[Fault.status(503)] * 3)
    async with rt.events.subscribe() as events:
        try:
            await llm.generate("hi")
        except ProviderUnavailable:
            pass
        else:  # pragma: no cover
            raise AssertionError("three 503s with max_retries=2 must fail")
        got = _drain(events)
    assert [type(e) for e in got] == [
        GenerationStarted,
        RetryAttempted,
        RetryAttempted,
        RetryExhausted,
        ErrorOccurred,
    ]
    assert got[-1].error_type == "ProviderUnavailable"  # type: ignore[attr-defined]
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]


async def test_cancelled_stream_reports_cancelled(
    rt: Runtime, llm: LLM, server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    server.push(Reply(chunks=["a"] * 50, token_latency=1.0))
    async with rt.events.subscribe() as events:
        with trio.move_on_after(5):
            async with llm.stream("hi") as stream:
                async for _ in stream:
                    pass
        got = _drain(events)
    assert isinstance(got[-1], CallCancelled)
    assert not any(isinstance(e, GenerationCompleted) for e in got)


async def test_error_event_never_contains_the_api_key(
    autojump_clock: trio.testing.MockClock,
) -> None:
    secret = "sk-test-SECRET-0123456789abcdef"
    async with (
        open_fake_openai_server(api_key="sk-the-right-one") as server,
        open_runtime(env={}) as rt,
    ):
        llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url, api_key=secret)
        async with rt.events.subscribe() as events:
            with pytest.raises(AuthenticationError):
                await llm.generate("hi")
            got = _drain(events)
        assert any(isinstance(e, ErrorOccurred) for e in got)
        assert all(secret not in str(e.to_dict()) for e in got)
        assert all(secret[-8:] not in repr(e) for e in got)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plans=st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from([0.0, 0.01, 0.05]), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    buffer=st.integers(1, 8),
)
def test_events_of_each_request_arrive_in_order(
    plans: list[tuple[int, float, bool]], buffer: int
) -> None:
    """Concurrent requests (some streamed, some not), a lossless and a tiny lossy
    subscriber: each sees every request's events with increasing seq; the
    lossless one sees all of them, and the lossy one's drop counts add up."""

    def script(request: RecordedRequest) -> Reply:
        n, latency, _ = plans[int(last_user_text(request))]
        return Reply(chunks=[f"{i} " for i in range(n)], token_latency=latency)

    async def main() -> None:
        async with open_fake_openai_server(script) as server, open_runtime(env={}) as rt:
            llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url)
            async with (
                rt.events.subscribe(lossless=True, buffer=buffer) as full,
                rt.events.subscribe(buffer=buffer) as lossy,
                trio.open_nursery() as nursery,
            ):
                received: list[Event] = []
                lossy_seen: list[Event] = []

                async def read_full() -> None:
                    async for event in full:
                        received.append(event)

                async def read_lossy() -> None:
                    async for event in lossy:
                        lossy_seen.append(event)
                        await trio.sleep(0.02)  # slow: it will drop

                async def call(i: int, stream: bool) -> None:
                    if stream:
                        async with llm.stream(str(i)) as s:
                            async for _ in s:
                                pass
                    else:
                        await llm.generate(str(i))

                nursery.start_soon(read_full)
                nursery.start_soon(read_lossy)
                async with trio.open_nursery() as calls:
                    for i, (_, _, stream) in enumerate(plans):
                        calls.start_soon(call, i, stream)
                await trio.sleep(5)
                nursery.cancel_scope.cancel()
            by_request: dict[str, list[int]] = {}
            for event in received:
                by_request.setdefault(event.request_id, []).append(event.seq)
            assert len(by_request) == len(plans)
            for seqs in by_request.values():
                assert seqs == list(range(1, len(seqs) + 1))  # all, in order
            lossy_by_request: dict[str, list[int]] = {}
            for event in lossy_seen:
                lossy_by_request.setdefault(event.request_id, []).append(event.seq)
            for seqs in lossy_by_request.values():
                assert seqs == sorted(seqs)  # in order, perhaps with gaps
            assert len(lossy_seen) + lossy.dropped == len(received)
        assert our_tasks() == []

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def _drain(sub: object) -> list[Event]:
    out = []
    while True:
        try:
            out.append(sub.receive_nowait())  # type: ignore[attr-defined]
        except trio.WouldBlock:
            return out
