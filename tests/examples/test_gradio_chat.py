"""examples/gradio_chat.py, launched for real on 127.0.0.1 and driven over
HTTP by Gradio's own client: the answer streams from the fake upstream, and
cancelling the job (what the Stop button does) closes the upstream call."""

from __future__ import annotations

import time
from typing import Any

import pytest

from abstractcore_actors.sync import SyncRuntime
from abstractcore_actors.testing import FakeOpenAIServer, Reply
from tests.compat.conftest import server, wait_until
from tests.examples.apps import free_port, load_example

__all__ = ["server"]  # the fake upstream on its own thread (tests/compat)


@pytest.fixture
def url(server: FakeOpenAIServer) -> Any:
    gradio_chat = load_example("gradio_chat")
    with SyncRuntime(env={}) as runtime:
        demo = gradio_chat.make_demo(runtime, "openai-compatible", "m", base_url=server.base_url)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


def test_the_answer_streams_and_stop_cancels_the_upstream_call(
    url: str, server: FakeOpenAIServer
) -> None:
    from gradio_client import Client

    server.push(
        Reply(chunks=["Hello ", "from ", "Gradio"]), Reply(text="word " * 400, token_latency=0.02)
    )
    client = Client(url, verbose=False)
    answer = client.predict("hi", api_name="/answer")
    job = client.submit("a long one", api_name="/answer")
    assert wait_until(lambda: server.active_requests == 1, 10)  # it is answering
    time.sleep(0.3)
    job.cancel()
    assert wait_until(lambda: server.open_connections == 0, 5)  # long before its end
    assert answer == "Hello from Gradio"
    assert len(server.requests) == 2
    last = server.requests[-1].json
    assert isinstance(last, dict) and last["messages"][-1]["content"] == "a long one"
