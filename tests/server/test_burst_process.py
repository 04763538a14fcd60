"""A real `serve` process takes bursts of hostile requests and answers, and lives.

The attack of the crash-containment issue, on the process a user runs: 50
requests whose text holds a lone surrogate (streamed and not), then an
upstream answering 50 times each with JSON nested 100,000 deep (the whole
body, an SSE data line, an error body). Every bad request gets its own 4xx or
502/503, never a 500; the process stays up, `/health` answers, and a good
request afterwards succeeds.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import trio

from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply

from .conftest import Routes
from .process import KEY, gateway_process

BURST = 50
AT_ONCE = 10


def _body(text: str, stream: bool) -> bytes:
    # json.dumps writes a lone surrogate as the escape "\ud800": legal JSON
    return json.dumps(
        {"model": "words", "stream": stream, "messages": [{"role": "user", "content": text}]}
    ).encode()


async def _burst(http: httpx.AsyncClient, bodies: list[bytes]) -> list[httpx.Response]:
    answers: list[httpx.Response] = []
    limit = trio.Semaphore(AT_ONCE)

    async def one(body: bytes) -> None:
        async with limit:
            answers.append(await http.post("/v1/chat/completions", content=body))

    async with trio.open_nursery() as nursery:
        for body in bodies:
            nursery.start_soon(one, body)
    return answers


def _failed_cleanly(response: httpx.Response, statuses: set[int]) -> None:
    """An error of the expected kind, never a 500 / internal_error."""
    assert "internal_error" not in response.text, response.text[:500]
    if response.status_code == 200:  # a stream whose head was sent: an error frame
        assert "text/event-stream" in response.headers["content-type"]
        frames = [line for line in response.text.splitlines() if line.startswith("data: {")]
        assert any('"error"' in frame for frame in frames), response.text[:500]
        return
    assert response.status_code in statuses, response.text[:500]
    assert set(response.json()) == {"error"}


async def test_a_serve_process_survives_bursts_of_bad_text_and_deep_answers(
    tmp_path: Path, upstream: FakeOpenAIServer, routes: Routes
) -> None:
    with trio.fail_after(120):
        # the breaker would (rightly) stop calls to this broken upstream for a
        # while; here every call must reach it
        async with gateway_process(tmp_path, upstream, options="failure_threshold = 1000") as (
            process,
            port,
        ):
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                headers={"authorization": f"Bearer {KEY}"},
                timeout=30,
            ) as http:
                surrogates = [_body("hi \ud800", stream=i % 2 == 0) for i in range(BURST)]
                for response in await _burst(http, surrogates):
                    assert response.status_code == 400, response.text[:500]
                    assert "surrogate" in response.json()["error"]["message"]
                assert upstream.requests == []  # refused before any upstream call

                deep_answers = [
                    (Fault.nested(), False, {502}),  # the whole JSON body
                    (Fault.nested(), True, {502}),  # an SSE data line
                    (Fault.nested(status=500), False, {502, 503}),  # an error body
                    (Fault.nested(status=500), True, {502, 503}),
                ]
                for fault, stream, statuses in deep_answers:
                    routes.steps["words"] = fault
                    bodies = [_body("tell me", stream) for _ in range(BURST // 2)]
                    for response in await _burst(http, bodies):
                        _failed_cleanly(response, statuses)
                    assert process.returncode is None

                health = await http.get("/health")
                assert health.status_code == 200
                assert health.json()["status"] in {"ok", "degraded"}
                routes.steps["words"] = Reply(text="all good")
                good = await http.post("/v1/chat/completions", content=_body("hi", False))
                assert good.status_code == 200, good.text
                assert good.json()["choices"][0]["message"]["content"] == "all good"
            assert process.returncode is None
