"""Budgets, rate limits and the ledger in the gateway: 429 budget_exceeded in
OpenAI's shape (the real SDK raises RateLimitError), many concurrent requests
that never overspend and match the ledger row for row, user budgets,
rpm, unpriced models under a dollar budget, /v1/spend, a restart that
resumes, and a `kill -9` that loses no settled call."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import httpx
import openai
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from abstractcore_actors import Runtime
from abstractcore_actors._budgets import Budget, CallRecord, Spending, SqliteLedger
from abstractcore_actors.cli import main
from abstractcore_actors.server import GatewayConfig, KeyPolicy, hash_key
from abstractcore_actors.server._app import make_app
from abstractcore_actors.testing import FakeOpenAIServer, FakeUsage, Reply

from .conftest import DEADLINE, KEY, Routes, assert_openai_error, chat, http_client, serving
from .process import KEY as PROCESS_KEY
from .process import gateway_process

TEAM_KEY = "gw-team-key-789"
USAGE = FakeUsage(prompt_tokens=5, completion_tokens=50)
# $10 / $20 per 1M tokens: an answer costs (5 * 10 + 50 * 20) * 1000 nano-USD = $0.00105;
# its worst case with max_tokens=60 is (19 prompt bytes * 10 + 60 * 20) * 1000 = $0.00139
PRICES = {"gpt-test": {"input": 10, "output": 20}}
ANSWER_NANO = (5 * 10 + 50 * 20) * 1000


@pytest.fixture
def budgeted(config: GatewayConfig, routes: Routes) -> GatewayConfig:
    routes.steps["gpt-test"] = Reply(text="spent", usage=USAGE)
    team = KeyPolicy(hash=hash_key(TEAM_KEY), name="team-key", team="research", rpm=1000)
    return attrs.evolve(config, keys=(team,), prices=PRICES)


def budget(**fields: object) -> Budget:
    return Budget(**{"scope": "team", "name": "research", "period": "day", **fields})  # type: ignore[arg-type]


async def test_an_exhausted_budget_answers_429_budget_exceeded(
    rt: Runtime, budgeted: GatewayConfig
) -> None:
    config = attrs.evolve(budgeted, budgets=(budget(usd=0.01),))
    body = chat(max_tokens=60)
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port, TEAM_KEY) as http:
            answers = [await http.post("/v1/chat/completions", json=body) for _ in range(12)]
            sdk = openai.AsyncOpenAI(
                base_url=f"http://127.0.0.1:{port}/v1", api_key=TEAM_KEY, max_retries=0
            )
            async with sdk:
                with pytest.raises(openai.RateLimitError) as caught:
                    await sdk.chat.completions.create(
                        model="gpt-test",
                        messages=[{"role": "user", "content": "hi"}],
                        max_tokens=60,
                    )
    statuses = [a.status_code for a in answers]
    # 8 answers spend $0.0084; a 9th fits ($0.0084 + $0.00139 <= $0.01), a 10th does not
    assert statuses == [200] * 9 + [429] * 3
    refused = answers[statuses.index(429)]
    error = assert_openai_error(refused, 429)
    assert error["code"] == "budget_exceeded" and error["type"] == "insufficient_quota"
    assert "team:research/day" in str(error["message"]) and "resets at" in str(error["message"])
    assert int(refused.headers["retry-after"]) >= 1
    assert caught.value.code == "budget_exceeded"


async def test_concurrent_requests_never_overspend_and_match_the_ledger(
    rt: Runtime, budgeted: GatewayConfig, routes: Routes, tmp_path: Path
) -> None:
    routes.steps["gpt-test"] = Reply(text="spent", usage=USAGE, ttft=0.05)
    limit_usd = 0.05
    config = attrs.evolve(budgeted, budgets=(budget(usd=limit_usd),))
    spending = await Spending.open(config.budgets, tmp_path / "spend.db")
    app_config = config
    results: list[int] = []
    with trio.fail_after(DEADLINE):
        async with (
            serving_with(rt, app_config, spending) as port,
            http_client(port, TEAM_KEY) as http,
        ):

            async def one() -> None:
                answer = await http.post("/v1/chat/completions", json=chat(max_tokens=60))
                results.append(answer.status_code)

            async with trio.open_nursery() as nursery:
                for _ in range(40):
                    nursery.start_soon(one)
    assert spending.ledger is not None
    rows = await spending.ledger.query("SELECT COUNT(*), SUM(cost_nano_usd) FROM calls")
    await spending.aclose()
    ((count, nano),) = rows
    assert results.count(200) == count  # every answered call is in the ledger, once
    assert set(results) <= {200, 429} and 429 in results
    assert int(str(nano)) == count * ANSWER_NANO <= limit_usd * 1e9  # never past the limit
    assert spending.book.holding() == 0


async def test_a_user_budget_counts_the_user_field_and_the_header(
    rt: Runtime, budgeted: GatewayConfig
) -> None:
    config = attrs.evolve(
        budgeted, budgets=(Budget(scope="user", name="*", period="total", tokens=200),)
    )
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port, TEAM_KEY) as http:
            ada = [
                (
                    await http.post("/v1/chat/completions", json=chat(user="ada", max_tokens=60))
                ).status_code
                for _ in range(5)
            ]
            bob = await http.post(
                "/v1/chat/completions",
                json=chat(max_tokens=60),
                headers={"x-abstractcore-user": "bob"},
            )
    # 55 tokens an answer, 79 held for a worst case: 3 fit in 200, a 4th does not
    assert ada == [200, 200, 200, 429, 429]
    assert bob.status_code == 200  # a budget of his own


async def test_a_key_over_its_rpm_gets_429_with_retry_after(
    rt: Runtime, budgeted: GatewayConfig
) -> None:
    limited = KeyPolicy(hash=hash_key(TEAM_KEY), name="team-key", rpm=2)
    config = attrs.evolve(budgeted, keys=(limited,))
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port, TEAM_KEY) as http:
            answers = [await http.post("/v1/chat/completions", json=chat()) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    error = assert_openai_error(answers[2], 429)
    assert error["code"] == "rate_limit_exceeded"
    assert 1 <= int(answers[2].headers["retry-after"]) <= 60


async def test_a_dollar_budget_refuses_a_model_without_a_price(
    rt: Runtime, budgeted: GatewayConfig
) -> None:
    config = attrs.evolve(budgeted, budgets=(budget(usd=1),))
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, http_client(port, TEAM_KEY) as http:
            answer = await http.post("/v1/chat/completions", json=chat("fast"))
    error = assert_openai_error(answer, 400)
    assert error["code"] == "unpriced_model" and "[prices]" in str(error["message"])


async def test_spend_is_reported_to_admin_keys_only(
    rt: Runtime, budgeted: GatewayConfig, tmp_path: Path
) -> None:
    spending = await Spending.open((), tmp_path / "spend.db")
    with trio.fail_after(DEADLINE):
        async with serving_with(rt, budgeted, spending) as port:
            async with http_client(port, TEAM_KEY) as team:
                await team.post("/v1/chat/completions", json=chat())
                denied = await team.get("/v1/spend")
            async with http_client(port, KEY) as admin:
                by_team = await admin.get("/v1/spend", params={"by": "team"})
                bad = await admin.get("/v1/spend", params={"by": "planet"})
    await spending.aclose()
    assert assert_openai_error(denied, 403)["code"] == "admin_only"
    (row,) = by_team.json()["data"]
    assert row["team"] == "research" and row["calls"] == 1 and row["tokens"] == 55
    assert row["cost_usd"] == pytest.approx(ANSWER_NANO / 1e9)
    assert assert_openai_error(bad, 400)["param"] == "by"


async def test_a_restart_resumes_the_budget_from_the_ledger(
    rt: Runtime, budgeted: GatewayConfig, tmp_path: Path
) -> None:
    config = attrs.evolve(budgeted, budgets=(budget(tokens=150),))
    statuses = []
    for _ in range(3):  # three lives of the gateway on one ledger
        spending = await Spending.open(config.budgets, tmp_path / "spend.db")
        with trio.fail_after(DEADLINE):
            async with (
                serving_with(rt, config, spending) as port,
                http_client(port, TEAM_KEY) as http,
            ):
                answer = await http.post("/v1/chat/completions", json=chat(max_tokens=60))
                statuses.append(answer.status_code)
        await spending.aclose()
    # 55 tokens an answer, 79 held for its worst case: the third life resumes
    # at 110 spent, and 110 + 79 > 150 (a gateway that forgot would answer)
    assert statuses == [200, 200, 429]
    spending = await Spending.open(config.budgets, tmp_path / "spend.db")
    counter = ("team:research/day", "research", config.budgets[0].period.window(time.time())[0])
    assert spending.book.spent(counter).tokens == 110
    await spending.aclose()


async def test_kill_9_loses_no_settled_call(tmp_path: Path, upstream: FakeOpenAIServer) -> None:
    ledger = tmp_path / "spend.db"
    answered = 0
    with trio.fail_after(30):
        async with gateway_process(
            tmp_path,
            upstream,
            server=f'ledger = "{ledger}"',
            tables="[prices.words]\ninput = 1\noutput = 1",
        ) as (process, port):
            headers = {"authorization": f"Bearer {PROCESS_KEY}"}
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10
            ) as http:
                for _ in range(5):
                    answer = await http.post("/v1/chat/completions", json=chat("words"))
                    assert answer.status_code == 200
                    answered += 1
            process.send_signal(signal.SIGKILL)
            await process.wait()
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(ledger) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM calls").fetchone()
    assert count == answered == 5


@asynccontextmanager
async def serving_with(
    rt: Runtime, config: GatewayConfig, spending: Spending
) -> AsyncIterator[int]:
    """A gateway app with the given spending (a ledger the test opened), on a free port."""
    app = make_app(rt, config, spending)
    hc = Config()  # the ledger is the test's: serve() would open its own
    hc.bind = ["127.0.0.1:0"]
    hc.accesslog = None
    hc.errorlog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, app, hc)  # type: ignore[arg-type]
        yield int(binds[0].rsplit(":", 1)[1])
        nursery.cancel_scope.cancel()


def test_the_spend_command_reports_the_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trio.run(_write_three_calls, tmp_path / "spend.db")
    assert main(["spend", "--ledger", str(tmp_path / "spend.db"), "--by", "key"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["a", "2", "6", "0.003000"]
    assert lines[2].split()[:4] == ["b", "1", "3", "unknown"]
    assert main(["spend", "--ledger", str(tmp_path / "nope.db")]) == 2
    assert "no ledger at" in capsys.readouterr().err


async def _write_three_calls(path: Path) -> None:
    ledger = await SqliteLedger.open(path)
    for key, cost in (("a", 1_000_000), ("a", 2_000_000), ("b", None)):
        await ledger.record(
            CallRecord(
                ts=time.time(),
                request_id="r",
                key=key,
                user=None,
                team=None,
                model="m",
                provider="p",
                prompt_tokens=1,
                completion_tokens=2,
                tokens=3,
                cost_nano_usd=cost,
                outcome="ok",
                latency=0.1,
            )
        )
    await ledger.aclose()


async def test_embeddings_are_priced_budgeted_and_in_the_ledger(
    rt: Runtime, budgeted: GatewayConfig, tmp_path: Path
) -> None:
    # the fake counts a word a token: "one two three" is 3 prompt tokens
    prices = {"gpt-test": {"input": 100, "output": 0}}
    config = attrs.evolve(budgeted, prices=prices, budgets=(budget(tokens=10),))
    spending = await Spending.open(config.budgets, tmp_path / "spend.db")
    body = {"model": "gpt-test", "input": "one two three", "encoding_format": "float"}
    with trio.fail_after(DEADLINE):
        async with serving_with(rt, config, spending) as port, http_client(port, TEAM_KEY) as http:
            # worst case: 13 bytes = 13 tokens > 10: refused before it runs
            refused = await http.post("/v1/embeddings", json=body)
            short = {**body, "input": "one two"}  # 7 bytes: held, then 2 spent
            answered = [await http.post("/v1/embeddings", json=short) for _ in range(3)]
    assert spending.ledger is not None
    rows = await spending.ledger.query("SELECT model, tokens, cost_nano_usd FROM calls")
    await spending.aclose()
    assert assert_openai_error(refused, 429)["code"] == "budget_exceeded"
    # 2 + 7 <= 10, 4 + 7 > 10: two answered, the third refused
    assert [a.status_code for a in answered] == [200, 200, 429]
    assert rows == [("gpt-test", 2, 2 * 100 * 1000)] * 2


async def test_a_stream_the_client_left_settles_what_it_streamed(
    rt: Runtime, budgeted: GatewayConfig, routes: Routes, tmp_path: Path
) -> None:
    routes.steps["gpt-test"] = Reply(text="tick " * 200, token_latency=0.02, usage=USAGE)
    spending = await Spending.open((), tmp_path / "spend.db")
    body = {**chat(), "stream": True}
    query = "SELECT outcome, tokens, cost_nano_usd, completion_tokens FROM calls"
    serving_it = serving_with(rt, budgeted, spending)
    with trio.fail_after(DEADLINE):
        async with serving_it as port, http_client(port, TEAM_KEY) as http:
            async with http.stream("POST", "/v1/chat/completions", json=body) as answer:
                async for line in answer.aiter_lines():
                    if line.count("tick") and line.startswith("data:"):
                        break  # the person said stop
            assert spending.ledger is not None
            while not (rows := await spending.ledger.query(query)):  # noqa: ASYNC110
                await trio.sleep(0.05)
    await spending.aclose()
    ((outcome, tokens, nano, _),) = rows
    assert outcome == "client_disconnect"
    assert tokens > 0 and nano is not None and nano > 0  # estimated, never free
