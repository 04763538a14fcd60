"""examples/streamlit_chat.py under `streamlit run`, driven in headless
Chromium: the answer streams in, and the Stop button cancels the model call
(the fake upstream sees its connection closed long before the answer's end)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Reply
from tests.examples.apps import EXAMPLES, free_port, upstream
from tests.server.test_console import NEEDS_CHROMIUM, open_page, upstream_settles

EXAMPLE = EXAMPLES / "streamlit_chat.py"
__all__ = ["upstream"]  # the fixture
DEADLINE = 60


@pytest.fixture
async def port(upstream: FakeOpenAIServer) -> AsyncIterator[int]:
    bound = free_port()
    env = {
        **os.environ,
        "CHAT_PROVIDER": "openai-compatible",
        "CHAT_MODEL": "m",
        "CHAT_BASE_URL": upstream.base_url,
    }
    process = await trio.lowlevel.open_process(
        [
            sys.executable, "-m", "streamlit", "run", str(EXAMPLE),
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(bound),
            "--browser.gatherUsageStats", "false",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with trio.fail_after(DEADLINE):
            async with httpx.AsyncClient() as http:
                while True:
                    try:
                        health = await http.get(f"http://127.0.0.1:{bound}/_stcore/health")
                        if health.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await trio.sleep(0.1)
        yield bound
    finally:
        process.terminate()
        with trio.CancelScope(shield=True):
            await process.wait()


@NEEDS_CHROMIUM
async def test_the_answer_streams_and_stop_cancels_the_model_call(
    port: int, upstream: FakeOpenAIServer
) -> None:
    upstream.push(
        Reply(chunks=["Hello ", "from ", "Streamlit"]),
        Reply(text="word " * 400, token_latency=0.05),  # 20 s in all
    )

    def drive(url: str) -> dict[str, Any]:
        from playwright.sync_api import expect

        with open_page(url) as (page, errors):
            page.set_default_timeout(DEADLINE * 1000)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("hi")
            box.press("Enter")
            expect(page.get_by_test_id("stChatMessage").nth(1)).to_contain_text(
                "Hello from Streamlit"
            )
            box.fill("a long one")
            box.press("Enter")
            expect(page.get_by_test_id("stChatMessage").nth(3)).to_contain_text("word word")
            page.get_by_role("button", name="Stop").click()
            settled = upstream_settles(upstream, lambda u: u.open_connections == 0)
            return {"settled": settled, "errors": errors}

    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    with trio.fail_after(DEADLINE * 2):  # Streamlit's page is heavy: a slow machine needs time
        seen = await trio.to_thread.run_sync(drive, f"http://127.0.0.1:{port}/")
    assert seen["settled"]["open"] == 0  # within 3 s of Stop, of a 20 s answer
    assert seen["settled"]["requests"] == 2
