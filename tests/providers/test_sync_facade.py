"""The sync facade from plain code, and its refusal inside a running loop."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio

from abstractcore_actors import SyncCalledFromAsync, ValidationError, open_runtime
from abstractcore_actors.sync import SyncRuntime, create_llm
from abstractcore_actors.testing import FakeOpenAIServer, Reply, open_fake_openai_server


def run_server_in_thread(test: object) -> None:
    """Run a fake server on its own trio thread while `test(server)` runs here, in sync code."""
    ready = threading.Event()
    stop: list[trio.Event] = []
    holder: list[FakeOpenAIServer] = []
    token: list[trio.lowlevel.TrioToken] = []

    async def serve() -> None:
        async with open_fake_openai_server() as server:
            holder.append(server)
            token.append(trio.lowlevel.current_trio_token())
            stop.append(trio.Event())
            ready.set()
            await stop[0].wait()

    thread = threading.Thread(target=trio.run, args=(serve,), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        test(holder[0])  # type: ignore[operator]
    finally:
        trio.from_thread.run_sync(stop[0].set, trio_token=token[0])
        thread.join(10)


def test_generate_and_stream_from_plain_sync_code() -> None:
    def check(server: FakeOpenAIServer) -> None:
        # the fake server's own loop owns its state; push from its thread-safe side
        server.push(Reply(text="Hello sync"), Reply(chunks=["a", "b", "c"]))
        before = threading.active_count()
        with create_llm("openai-compatible", "m", base_url=server.base_url) as llm:
            assert llm.generate("Hi").content == "Hello sync"
            assert [c.text for c in llm.stream("Hi") if c.text] == ["a", "b", "c"]
        assert threading.active_count() <= before  # the worker thread is gone

    run_server_in_thread(check)


def test_breaking_out_of_a_sync_stream_closes_the_upstream_connection() -> None:
    def check(server: FakeOpenAIServer) -> None:
        server.push(Reply(text=" ".join(["w"] * 500), token_latency=0.01))
        with SyncRuntime() as rt:
            llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url)
            for n, _ in enumerate(llm.stream("Hi")):
                if n == 3:
                    break
            for _ in range(200):  # the server notices the close promptly
                if server.open_connections == 0:
                    break
                threading.Event().wait(0.01)
            assert server.open_connections == 0

    run_server_in_thread(check)


async def test_inside_trio_the_error_names_the_async_call() -> None:
    with pytest.raises(SyncCalledFromAsync, match=r"await llm.generate|open_runtime"):
        create_llm("ollama", "m")
    async with open_runtime(env={}):
        with pytest.raises(SyncCalledFromAsync, match="async API"):
            SyncRuntime()


def test_inside_asyncio_the_error_names_the_async_call() -> None:
    async def main() -> None:
        with pytest.raises(SyncCalledFromAsync, match="asyncio"):
            create_llm("ollama", "m")

    asyncio.run(main())


def test_embed_from_plain_sync_code() -> None:
    def check(server: FakeOpenAIServer) -> None:
        with create_llm("openai-compatible", "e", base_url=server.base_url) as llm:
            pair = llm.embed(["a", "b"])
            one = llm.embed("a")
            with pytest.raises(ValidationError, match="nothing to embed"):
                llm.embed([])
        assert len(pair.vectors) == 2 and pair.dimensions == 8
        assert one.vectors[0] == pair.vectors[0]

    run_server_in_thread(check)
