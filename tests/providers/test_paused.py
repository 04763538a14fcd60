"""A provider actor that crash-loops is paused, not allowed to end the runtime.

A call's own failure never crashes a provider actor (see test_containment);
this is the net below that: a bug outside the per-call containment, injected
here into the real `ProviderActor` for prompts that say POISON. Past the root
supervisor's intensity (10 crashes in 60 s) the actor is parked: its callers
get `ProviderPaused` naming the model (with `retry_after`), every other model
goes on, races count it as a failed member, and after the delay it serves
again.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    ActorCrashed,
    ProviderPaused,
    ProviderUnavailable,
    Runtime,
    open_runtime,
    race,
)
from abstractcore_actors.testing import FakeOpenAIServer, Reply
from tests.leaks import our_tasks
from tests.poison import POISON, ROOT_INTENSITY, poison_provider_actors

from .conftest import API_KEY, FAST


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    poison_provider_actors(monkeypatch)


async def _poison(llm: Any, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ActorCrashed):
            await llm.generate(POISON)
        await trio.testing.wait_all_tasks_blocked()


@pytest.mark.usefixtures("poisoned")
async def test_a_crash_looping_provider_is_paused_and_the_runtime_goes_on(
    openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_runtime(env={}) as rt:
        sick = rt.create_llm(
            "openai-compatible", "sick", base_url=openai_server.base_url, api_key=API_KEY, **FAST
        )
        well = rt.create_llm(
            "openai-compatible", "well", base_url=openai_server.base_url, api_key=API_KEY, **FAST
        )
        await _poison(sick, ROOT_INTENSITY + 1)
        assert sick.actor.unavailable is not None

        with pytest.raises(ProviderPaused) as caught:
            await sick.generate("hello")
        error = caught.value
        assert isinstance(error, ProviderUnavailable)  # caught as "unavailable" too
        assert (error.provider, error.model) == ("openai-compatible", "sick")
        assert 0 < error.retry_after <= 1.0
        assert "a bug outside" in str(error) and "retry in" in str(error)
        assert API_KEY not in str(error)

        with pytest.raises(ProviderPaused):
            async with sick.stream("hello") as stream:
                async for _ in stream:
                    pass
        with pytest.raises(ProviderPaused):
            await sick.embed(["hello"])

        # the other model, and the runtime, go on
        openai_server.push(Reply(text="still here"))
        assert (await well.generate("hi")).content == "still here"

        # a race counts the paused model as a failed member
        openai_server.push(Reply(text="won"))
        result = await race([sick, well], "hi")
        assert result.response.content == "won"
        assert any(isinstance(a.error, ProviderPaused) for a in result.attempts)

        # after its delay it serves again
        await trio.sleep(1.01)
        assert sick.actor.unavailable is None
        openai_server.push(Reply(text="back"))
        assert (await sick.generate("hello")).content == "back"
    assert our_tasks() == []


@pytest.mark.usefixtures("poisoned")
async def test_leaving_the_runtime_while_a_provider_is_paused_is_clean(
    rt: Runtime, openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    sick = rt.create_llm(
        "openai-compatible", "sick", base_url=openai_server.base_url, api_key=API_KEY, **FAST
    )
    await _poison(sick, ROOT_INTENSITY + 1)
    assert sick.actor.unavailable is not None
    # the rt fixture checks that no task of ours is left behind
