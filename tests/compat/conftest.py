"""A fake OpenAI server on a trio thread of its own, for compat tests whose
caller is sync code or asyncio (the runtime runs on yet another thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, open_fake_openai_server


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    ready = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        async with open_fake_openai_server() as fake:
            box["server"], box["token"], box["stop"] = (
                fake,
                trio.lowlevel.current_trio_token(),
                trio.Event(),
            )
            ready.set()
            await box["stop"].wait()  # type: ignore[attr-defined]

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield box["server"]  # type: ignore[misc]
    finally:
        trio.from_thread.run_sync(box["stop"].set, trio_token=box["token"])  # type: ignore[attr-defined]
        thread.join(10)


def wait_until(predicate: object, seconds: float = 5.0) -> bool:
    """Poll `predicate()` from plain code (another thread's server state)."""
    for _ in range(int(seconds / 0.01)):
        if predicate():  # type: ignore[operator]
            return True
        threading.Event().wait(0.01)
    return False
