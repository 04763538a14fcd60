"""The async API on the wrong event loop says so, and what to do instead."""

from __future__ import annotations

import asyncio

import pytest

from abstractcore_actors import NotUnderTrio, open_runtime


def test_open_runtime_under_asyncio_names_trio_and_the_ways_out() -> None:
    async def main() -> None:
        async with open_runtime(env={}):
            pass

    with pytest.raises(NotUnderTrio, match="under asyncio") as caught:
        asyncio.run(main())
    message = str(caught.value)
    assert "open_runtime() runs on trio" in message
    assert "asyncio.to_thread" in message and "trio-asyncio" in message
    assert isinstance(caught.value, RuntimeError)


def test_open_runtime_outside_any_loop() -> None:
    # a coroutine driven by hand, with no loop at all
    manager = open_runtime(env={})
    with pytest.raises(NotUnderTrio, match="outside any event loop"):
        manager.__aenter__().send(None)
