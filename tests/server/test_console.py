"""The web console at /: its files and headers, then a real browser (Debian's
chromium, driven by Playwright): streaming an answer and pressing Stop (the
upstream connection closes while the page is still open), a second Send
superseding the first, a race's contenders, winner and cancelled loser, and
errors (401 asking for the key, 404, an error frame mid-stream)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply, last_user_text

from .conftest import DEADLINE, KEY, Routes

if TYPE_CHECKING:
    from playwright.sync_api import Page

T = TypeVar("T")

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


NEEDS_CHROMIUM = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs a browser: apt-get install chromium chromium-driver (Debian packages)",
)
# the browser's own log lines for the 4xx answers a test asks for on purpose
EXPECTED_HTTP_ERRORS = ("status of 401", "status of 404")


@contextmanager
def open_page(url: str) -> Iterator[tuple[Page, list[str]]]:
    """In a worker thread: a fresh headless chromium on the console; yields the page
    and the script errors and CSP violations it logged."""
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
            yield page, errors
        finally:
            browser.close()


def unexpected(errors: list[str]) -> list[str]:
    return [e for e in errors if not any(ok in e for ok in EXPECTED_HTTP_ERRORS)]


def enter_key(page: Page) -> None:
    page.fill("#key", KEY)
    page.dispatch_event("#key", "change")  # reload the model list with the key
    page.wait_for_selector("#models option[value='gpt-test']", state="attached")


def ask(page: Page, model: str, prompt: str) -> None:
    page.fill("#model", model)
    page.fill("#prompt", prompt)
    page.click("#send")


def timeline(page: Page) -> list[str]:
    items: list[str] = page.eval_on_selector_all(
        "#timeline li", "items => items.map(li => li.dataset.type || li.textContent)"
    )
    return items


def upstream_settles(
    upstream: FakeOpenAIServer, until: Callable[[FakeOpenAIServer], bool]
) -> dict[str, int]:
    """From the browser's thread, while the browser still runs: wait (bounded, far
    less than any scripted answer takes) until `until(upstream)` holds, and return
    the fake upstream's counts then, whether or not it came to hold."""

    async def settle() -> dict[str, int]:
        with trio.move_on_after(3):
            # polled: the fake server signals opened and closed connections, not
            # a request's end (a pooled connection outlives its request)
            while not until(upstream):  # noqa: ASYNC110
                await trio.sleep(0.01)
        return {
            "open": upstream.open_connections,
            "closed": upstream.closed_connections,
            "active": upstream.active_requests,
            "requests": len(upstream.requests),
        }

    counts: dict[str, int] = trio.from_thread.run(settle)
    return counts


def serving(count: int) -> Callable[[FakeOpenAIServer], bool]:
    """`count` connections open, each answering a request."""
    return lambda up: up.open_connections == count and up.active_requests == count


async def in_browser(drive: Callable[[str], T], port: int) -> T:
    # the gateway and the fake upstream stay on this trio loop; the browser runs in
    # a thread, and calls back into the loop (`upstream_settles`) to see the upstream.
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    with trio.fail_after(DEADLINE * 1.5):
        return await trio.to_thread.run_sync(drive, f"http://127.0.0.1:{port}/")


@NEEDS_CHROMIUM
async def test_a_browser_streams_an_answer_and_stop_cancels_it_upstream(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    words = 400
    routes.steps["gpt-test"] = Reply(text="token " * words, token_latency=0.05)  # 20 s in all

    def drive(url: str) -> dict[str, Any]:
        from playwright.sync_api import expect

        with open_page(url) as (page, errors):
            enter_key(page)
            ask(page, "gpt-test", "tell me a long story")
            expect(page.locator("#answer")).to_contain_text("token token token token")
            page.wait_for_selector("#timeline li[data-type='generation.first_token']")
            streaming = upstream_settles(upstream, serving(1))
            page.click("#stop")
            page.wait_for_selector("#timeline li[data-type='cancelled']")
            expect(page.locator("#status")).to_have_text("stopped")
            stopped = upstream_settles(upstream, serving(0))  # the browser is still open
            return {
                "answer": page.text_content("#answer") or "",
                "timeline": timeline(page),
                "request_id": page.text_content("#request-id") or "",
                "stop_disabled": page.is_disabled("#stop"),
                "streaming": streaming,
                "stopped": stopped,
                "errors": errors,
            }

    seen = await in_browser(drive, port)
    # no CSP violation, no script error; only the model list asked for before the key was typed
    assert unexpected(seen["errors"]) == []
    assert seen["streaming"] == {"open": 1, "closed": 0, "active": 1, "requests": 1}
    # Stop closed the upstream connection, not the browser leaving
    assert seen["stopped"] == {"open": 0, "closed": 1, "active": 0, "requests": 1}
    assert seen["answer"].startswith("token token")
    assert seen["answer"].count("token") < words  # stopped before the end
    events = seen["timeline"]
    assert events[:2] == ["generation.started", "generation.first_token"]
    assert "cancelled" in events and "generation.completed" not in events
    assert seen["request_id"].startswith("console-")
    assert seen["stop_disabled"]


@NEEDS_CHROMIUM
async def test_a_second_send_stops_the_first_request_and_only_its_answer_shows(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = [
        Reply(text="alpha " * 400, token_latency=0.05),
        Reply(text="beta " * 400, token_latency=0.05),
    ]

    def drive(url: str) -> dict[str, Any]:
        from playwright.sync_api import expect

        with open_page(url) as (page, errors):
            enter_key(page)
            ask(page, "gpt-test", "first question")
            expect(page.locator("#answer")).to_contain_text("alpha alpha alpha")
            first_id = page.text_content("#request-id")
            page.fill("#prompt", "second question")
            page.click("#send")  # while the first still streams
            expect(page.locator("#answer")).to_contain_text("beta beta beta beta beta")
            # the first's upstream connection closed; the second's is the one open
            switched = upstream_settles(upstream, serving(1))
            expect(page.locator("#status")).to_have_text("streaming…")
            answer = page.text_content("#answer") or ""
            events = timeline(page)
            second_id = page.text_content("#request-id")
            page.click("#stop")
            expect(page.locator("#status")).to_have_text("stopped")
            stopped = upstream_settles(upstream, serving(0))
            return {
                "answer": answer,
                "timeline": events,
                "ids": (first_id, second_id),
                "switched": switched,
                "stopped": stopped,
                "errors": errors,
            }

    seen = await in_browser(drive, port)
    assert unexpected(seen["errors"]) == []
    assert seen["answer"].startswith("beta beta") and "alpha" not in seen["answer"]
    first_id, second_id = seen["ids"]
    assert first_id != second_id
    # the second request's own events only: none of the first's cancel
    assert seen["timeline"][:2] == ["generation.started", "generation.first_token"]
    assert "cancelled" not in seen["timeline"]
    assert seen["switched"] == {"open": 1, "closed": 1, "active": 1, "requests": 2}
    assert seen["stopped"] == {"open": 0, "closed": 2, "active": 0, "requests": 2}
    assert [last_user_text(r) for r in upstream.requests] == ["first question", "second question"]


@NEEDS_CHROMIUM
async def test_a_race_shows_each_contender_the_winner_and_the_loser_cancelled(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps = {
        "slow": Reply(text="the slow answer", ttft=5),
        "fast": Reply(text="the fast answer wins", token_latency=0.02),
    }

    def drive(url: str) -> dict[str, Any]:
        from playwright.sync_api import expect

        with open_page(url) as (page, errors):
            enter_key(page)
            ask(page, "race:slow,fast", "who is quicker?")
            expect(page.locator("#status")).to_have_text("done")
            page.wait_for_selector("#timeline li[data-type='cancelled']")
            page.wait_for_selector("#timeline li[data-type='generation.completed']")
            # the loser's connection closed; the winner's may stay in the gateway's pool
            settled = upstream_settles(
                upstream, lambda up: up.closed_connections >= 1 and up.active_requests == 0
            )
            return {
                "answer": page.text_content("#answer") or "",
                "items": page.eval_on_selector_all(
                    "#timeline li", "items => items.map(li => [li.dataset.type, li.textContent])"
                ),
                "settled": settled,
                "errors": errors,
            }

    seen = await in_browser(drive, port)
    assert unexpected(seen["errors"]) == []
    assert seen["answer"] == "the fast answer wins"
    items: list[tuple[str, str]] = [tuple(i) for i in seen["items"]]

    def texts(kind: str) -> list[str]:
        return [text for t, text in items if t == kind]

    started = texts("generation.started")
    assert len(started) == 2
    assert any("contender 0 (slow)" in t for t in started)
    assert any("contender 1 (fast)" in t for t in started)
    [winner] = texts("console.winner")
    assert "contender 1 (fast) won the race" in winner
    [cancelled] = texts("cancelled")
    assert "contender 0 (slow)" in cancelled and "lost the race" in cancelled
    [completed] = texts("generation.completed")
    assert "contender 1 (fast)" in completed and "usage" in completed
    assert [t for t, _ in items].index("console.winner") < [t for t, _ in items].index("cancelled")
    assert seen["settled"]["active"] == 0 and seen["settled"]["requests"] == 2
    assert seen["settled"]["closed"] >= 1 and seen["settled"]["open"] <= 1


@NEEDS_CHROMIUM
async def test_the_console_shows_errors_asks_for_the_key_and_an_idle_stop_is_harmless(
    port: int, routes: Routes, upstream: FakeOpenAIServer
) -> None:
    routes.steps["gpt-test"] = [
        Fault.sse_error(
            after_chunks=3, message="the model is overloaded", reply=Reply(text="one two three")
        ),
        Reply(text="all good"),
    ]

    def drive(url: str) -> dict[str, Any]:
        from playwright.sync_api import expect

        with open_page(url) as (page, errors):
            status = page.locator("#status")
            # no key yet: the model list is refused, and the page asks for the key
            expect(status).to_contain_text("401")
            expect(status).to_contain_text("API key")
            expect(page.locator("#key")).to_have_attribute("aria-invalid", "true")
            expect(page.locator("#key")).to_be_focused()
            start = time.monotonic()
            ask(page, "gpt-test", "hi")
            expect(status).to_contain_text("error: HTTP 401: ")
            unauthorized = {"text": status.text_content(), "took": time.monotonic() - start}
            enter_key(page)
            expect(page.locator("#key")).not_to_have_attribute("aria-invalid", "true")
            ask(page, "nope", "hi")
            expect(status).to_contain_text("error: HTTP 404: ")
            not_found = status.text_content()
            ask(page, "gpt-test", "hi")
            expect(status).to_contain_text("overloaded")
            expect(status).to_have_attribute("data-state", "error")
            mid_stream = {"status": status.text_content(), "answer": page.text_content("#answer")}
            ask(page, "gpt-test", "hi")
            expect(status).to_have_text("done")
            expect(page.locator("#stop")).to_be_disabled()
            # Stop with nothing running (the disabled button clicked anyway): nothing changes
            page.dispatch_event("#stop", "click")
            page.dispatch_event("#stop", "click")
            after_stop = {"status": status.text_content(), "answer": page.text_content("#answer")}
            return {
                "unauthorized": unauthorized,
                "not_found": not_found,
                "mid_stream": mid_stream,
                "after_stop": after_stop,
                "upstream": upstream_settles(upstream, lambda up: up.active_requests == 0),
                "errors": errors,
            }

    seen = await in_browser(drive, port)
    assert unexpected(seen["errors"]) == []
    # refused by the gateway at once (the events socket too: no 5 s wait for an auth message)
    assert seen["unauthorized"]["took"] < 3
    assert "API key" in seen["unauthorized"]["text"]
    assert "nope" in seen["not_found"]
    assert seen["mid_stream"]["status"].startswith("error: ")
    assert "overloaded" in seen["mid_stream"]["status"]
    assert seen["mid_stream"]["answer"].startswith("one two")
    assert seen["after_stop"] == {"status": "done", "answer": "all good"}
    assert seen["upstream"]["requests"] == 2 and seen["upstream"]["active"] == 0
