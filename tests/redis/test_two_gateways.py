"""Two `abstractcore-actors serve` processes on one Redis, many concurrent
requests against one team budget through both: neither overspends, the
answered calls are exactly the rows of their two ledgers, and Redis's total
equals the ledgers' sum. Then Redis goes down: both answer 503
budget_store_unavailable; it comes back: they answer again."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import trio

from abstractcore_actors._budgets import RedisClient
from abstractcore_actors.testing import FakeOpenAIServer, FakeUsage, Reply, open_fake_openai_server
from tests.server.process import KEY, gateway_process

from .server import needs_redis, running_redis

pytestmark = needs_redis

LIMIT_USD = 0.02
# $10/$20 per 1M: an answer of 5 + 50 tokens costs $0.00105; its worst case is more
TABLES = """
[prices.words]
input = 10
output = 20

[[budgets]]
scope = "key"
name = "*"
period = "total"
usd = {limit}
"""


def body() -> dict[str, object]:
    return {"model": "words", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 60}


async def test_two_gateways_share_one_budget_in_redis(tmp_path: Path) -> None:
    reply = Reply(text="spent", usage=FakeUsage(prompt_tokens=5, completion_tokens=50), ttft=0.02)
    statuses: list[int] = []
    async with (
        running_redis(tmp_path) as redis,
        open_fake_openai_server(default=reply) as upstream,
    ):
        tables = TABLES.format(limit=LIMIT_USD)
        with trio.fail_after(60):
            (tmp_path / "a").mkdir()
            (tmp_path / "b").mkdir()
            async with (
                _gateway(tmp_path / "a", upstream, redis.url, tables) as port_a,
                _gateway(tmp_path / "b", upstream, redis.url, tables) as port_b,
                _client(port_a) as a,
                _client(port_b) as b,
            ):

                async def one(http: httpx.AsyncClient) -> None:
                    answer = await http.post("/v1/chat/completions", json=body())
                    statuses.append(answer.status_code)

                async with trio.open_nursery() as nursery:
                    for i in range(60):
                        nursery.start_soon(one, a if i % 2 else b)

                await redis.stop()
                down = await a.post("/v1/chat/completions", json=body())
                await redis.start()
                back = await b.post("/v1/chat/completions", json=body())
            client = RedisClient.from_url(redis.url)
            (spent_key,) = await client.call("KEYS", "abstractcore:spent:*")  # one key, one total
            nano, _ = await client.call("HMGET", spent_key, "n", "t")
            await client.aclose()
    rows = 0
    ledger_nano = 0
    for folder in ("a", "b"):
        with sqlite3.connect(tmp_path / folder / "spend.db") as db:
            count, total = db.execute("SELECT COUNT(*), SUM(cost_nano_usd) FROM calls").fetchone()
        rows += count
        ledger_nano += total or 0
    assert set(statuses) == {200, 429}  # some answered, then the budget said no
    assert down.status_code == 503 and down.json()["error"]["code"] == "budget_store_unavailable"
    assert back.status_code in (200, 429)  # answered by the budget again, not by an outage
    answered = statuses.count(200) + (back.status_code == 200)
    assert rows == answered  # refused calls (budget, outage) never started: no row
    assert int(nano) == ledger_nano <= LIMIT_USD * 1e9


@asynccontextmanager
async def _gateway(
    folder: Path, upstream: FakeOpenAIServer, url: str, tables: str
) -> AsyncIterator[int]:
    """A gateway process with a ledger of its own and the shared Redis; yields its port."""
    server = f'ledger = "{folder / "spend.db"}"\nredis = "{url}"'
    async with gateway_process(folder, upstream, server=server, tables=tables) as (_, port):
        yield port


def _client(port: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}",
        headers={"authorization": f"Bearer {KEY}"},
        timeout=20,
    )
