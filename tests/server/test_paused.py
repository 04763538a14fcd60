"""A model whose provider actor crash-loops is paused; the gateway serves on.

The crash is a bug injected outside a call's containment (tests/poison.py).
Past the root supervisor's intensity the model's actor is parked: calls to
that model get 503 `provider_paused` with Retry-After, `/health` says
"degraded" (still 200: a load balancer keeps routing) and names it, and every
other model answers as before.
"""

from __future__ import annotations

import httpx
import pytest
import trio

from tests.poison import POISON, ROOT_INTENSITY, poison_provider_actors

from .conftest import DEADLINE, assert_openai_error, chat


@pytest.fixture(autouse=True)
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    poison_provider_actors(monkeypatch)


async def test_a_paused_model_is_503_with_retry_after_and_health_is_degraded(
    http: httpx.AsyncClient,
) -> None:
    with trio.fail_after(DEADLINE):
        assert (await http.get("/health")).json() == {"status": "ok"}
        for _ in range(ROOT_INTENSITY + 1):
            crashed = await http.post("/v1/chat/completions", json=chat("slow", POISON))
            assert assert_openai_error(crashed, 500)["code"] == "internal_error"

        paused = await http.post("/v1/chat/completions", json=chat("slow"))
        error = assert_openai_error(paused, 503)
        assert error["code"] == "provider_paused"
        assert "slow" in str(error["message"])
        assert 1 <= int(paused.headers["retry-after"]) <= 2

        streamed = await http.post("/v1/chat/completions", json=chat("slow", stream=True))
        assert assert_openai_error(streamed, 503)["code"] == "provider_paused"

        health = await http.get("/health")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "degraded"
        (entry,) = body["degraded"]
        assert entry["model"] == "slow"
        assert 0 < entry["retry_in"] <= 1.0
        assert "a bug outside" in entry["reason"]

        fine = await http.post("/v1/chat/completions", json=chat("fast", "hi"))
        assert fine.status_code == 200
        assert fine.json()["choices"][0]["message"]["content"] == "echo: hi"

        await trio.sleep(1.1)  # the pause (1 s the first time) ends
        assert (await http.get("/health")).json() == {"status": "ok"}
        back = await http.post("/v1/chat/completions", json=chat("slow", "again"))
        assert back.status_code == 200, back.text
