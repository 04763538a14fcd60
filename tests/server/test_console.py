"""The web console at /: its files and headers, then a real browser (Debian's
chromium, driven by Playwright) streaming an answer and pressing Stop."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Reply

from .conftest import DEADLINE, KEY, Routes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_the_console_is_served_with_a_strict_content_security_policy(
    http: httpx.AsyncClient,
) -> None:
    with trio.fail_after(DEADLINE):
        page = await http.get("/", headers={"authorization": ""})
        script = await http.get("/console.js")
        style = await http.get("/console.css")
        head = await http.head("/")
        post = await http.post("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/console.js"' in page.text and "onclick" not in page.text
    assert script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text and "/v1/events" in script.text
    assert style.headers["content-type"].startswith("text/css")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == page.headers["content-length"]
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"


def drive_browser(url: str) -> dict[str, Any]:
    """In a worker thread: load the console, ask, see tokens, press Stop, see the cancel."""
    # CSP forbids eval, so waits use locators (`expect`), never wait_for_function
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(DEADLINE * 1000)
            expect.set_options(timeout=DEADLINE * 1000)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            page.fill("#key", KEY)
            page.dispatch_event("#key", "change")  # reload the model list with the key
            page.wait_for_selector("#models option[value='gpt-test']", state="attached")
            page.fill("#model", "gpt-test")
            page.fill("#prompt", "tell me a long story")
            page.click("#send")
            expect(page.locator("#answer")).to_contain_text("token token token token")
            page.wait_for_selector("#timeline li[data-type='generation.first_token']")
            page.click("#stop")
            page.wait_for_selector("#timeline li[data-type='cancelled']")
            expect(page.locator("#status")).to_have_text("stopped")
            answer = page.text_content("#answer") or ""
            timeline = page.eval_on_selector_all(
                "#timeline li", "items => items.map(li => li.dataset.type || li.textContent)"
            )
            request_id = page.text_content("#request-id") or ""
        finally:
            browser.close()
    return {"answer": answer, "timeline": timeline, "errors": errors, "request_id": request_id}


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs a browser: apt-get install chromium chromium-driver (Debian packages)",
)
async def test_a_browser_streams_an_answer_and_stop_cancels_it_upstream(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    words = 400
    routes.steps["gpt-test"] = Reply(text="token " * words, token_latency=0.05)  # 20 s in all
    # Hypercorn and the fake upstream stay on this trio loop; the browser runs in a thread.
    with trio.fail_after(DEADLINE * 3):
        seen = await trio.to_thread.run_sync(drive_browser, f"http://127.0.0.1:{port}/")
        with trio.fail_after(3):  # far less than the 20 s the whole answer would take
            await upstream.wait_for_connections(0)
    # no CSP violation, no script error; only the model list asked for before the key was typed
    assert [e for e in seen["errors"] if "status of 401" not in e] == []
    assert seen["answer"].startswith("token token")
    assert seen["answer"].count("token") < words  # stopped before the end
    timeline = seen["timeline"]
    assert timeline[:2] == ["generation.started", "generation.first_token"]
    assert "cancelled" in timeline and "generation.completed" not in timeline
    assert seen["request_id"].startswith("console-")
    assert upstream.active_requests == 0
