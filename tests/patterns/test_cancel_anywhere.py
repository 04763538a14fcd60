"""Cancellation at any moment, chosen by hypothesis, leaves nothing running.

For each pattern: the caller's scope is cancelled at a random time while
attempts are connecting, streaming, or being cancelled as losers. When the
pattern returns, no upstream request is in flight; when the runtime closes,
no task of ours is left.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import (
    AbstractCoreActorsError,
    ensemble,
    hedge,
    hedge_stream,
    open_runtime,
    race,
    race_stream,
)
from abstractcore_actors.testing import open_fake_openai_server
from tests.leaks import our_tasks

from .conftest import Routes, answer, failing

PATTERNS = ["race", "race_stream", "ensemble", "ensemble_quorum", "hedge", "hedge_stream"]
latency = st.floats(min_value=0, max_value=2)
step = st.one_of(
    st.builds(lambda t, n: answer("ok", t, chunks=n), latency, st.integers(1, 20)),
    st.builds(lambda t: failing(503, ttft=t), latency),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern=st.sampled_from(PATTERNS),
    steps=st.lists(step, min_size=1, max_size=3),
    cancel_at=st.floats(min_value=0, max_value=3),
)
def test_cancel_at_any_moment(pattern: str, steps: list[Any], cancel_at: float) -> None:
    routes = Routes(steps={f"m{i}": s for i, s in enumerate(steps)})
    active_after: list[int] = []

    async def run_pattern(llms: list[Any]) -> None:
        if pattern == "race":
            await race(llms, "Hi")
        elif pattern == "race_stream":
            async with race_stream(llms, "Hi") as stream:
                async for _ in stream:
                    pass
        elif pattern == "ensemble":
            await ensemble(llms, "Hi", combine="concat")
        elif pattern == "ensemble_quorum":
            await ensemble(llms, "Hi", combine="vote", min_responses=1)
        elif pattern == "hedge":
            await hedge(llms, "Hi", after=0.3)
        else:
            async with hedge_stream(llms, "Hi", after=0.3) as stream:
                async for _ in stream:
                    pass

    async def main() -> None:
        with trio.fail_after(120):
            async with open_fake_openai_server(routes) as server:
                async with open_runtime(env={}) as rt:
                    llms = [
                        rt.create_llm(
                            "openai-compatible",
                            f"m{i}",
                            base_url=server.base_url,
                            max_retries=0,
                            name=f"m{i}",
                        )
                        for i in range(len(steps))
                    ]
                    # every attempt failing is also a clean ending
                    with trio.move_on_after(cancel_at), suppress(AbstractCoreActorsError):
                        await run_pattern(llms)
                    # no request in flight the moment the pattern returns
                    active_after.append(server.active_requests)
                assert our_tasks() == []
                # the actors' connection pools closed with the runtime
                assert server.open_connections == 0

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert active_after == [0]
