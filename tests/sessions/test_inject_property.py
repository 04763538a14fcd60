"""Hypothesis picks the moments: injections land before the first token, mid-
stream, during tools or after the turn, and each is applied exactly once, in
order, with the history left valid (every tool call answered)."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import open_runtime
from abstractcore_actors.testing import FakeToolCall, Reply, open_fake_openai_server
from abstractcore_actors.tools import tool
from tests.leaks import our_tasks

from .conftest import Model


def _plan(messages: list[dict[str, Any]]) -> Reply:
    if not any(m["role"] == "tool" for m in messages):
        return Reply(
            chunks=["thinking ", "about ", "it"],
            tool_calls=[FakeToolCall(name="lookup", arguments={"key": "k"})],
            ttft=1,
            token_latency=1,
        )
    return Reply(chunks=["final ", "answer ", "here"], ttft=1, token_latency=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moments=st.lists(st.floats(0, 16), min_size=1, max_size=3).map(sorted))
def test_injections_apply_once_in_order_at_any_moment(moments: list[float]) -> None:
    @tool
    async def lookup(key: str) -> str:
        """Look a key up."""
        await trio.sleep(3)
        return f"value of {key}"

    async def main() -> None:
        model = Model(plan=_plan)
        async with open_fake_openai_server(model) as server, open_runtime(env={}) as rt:
            llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url)
            s = rt.session(llm, tools=[lookup])
            notes = [f"note {i}" for i in range(len(moments))]

            async def inject_all() -> None:
                start = trio.current_time()
                for moment, note in zip(moments, notes, strict=True):
                    await trio.sleep_until(start + moment)
                    await s.inject(note)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(inject_all)
                first = await s.generate("go")
            assert first.finish_reason == "stop"
            if s.pending:  # came after the turn: it joins the next one
                await s.generate("next")
            assert s.pending == ()
            injected = [e.message.content for e in s.entries if e.status == "injected"]
            assert injected == notes  # each exactly once, in order
            sent = [m.get("content") for m in model.seen[-1]]
            assert [c for c in sent if c in notes] == notes
            calls = [c.id for m in s.history for c in m.tool_calls]
            answers = [m.tool_call_id for m in s.history if m.role == "tool"]
            assert sorted(calls) == sorted(answers)  # every tool call answered once
            await s.close()
        assert our_tasks() == []

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
