"""Embeddings at scale: micro-batching, the local embedding model, and
semantic routing.

1. Micro-batched vs one-by-one: 100 concurrent callers, each embedding one
   short text at a time, against the fake OpenAI server with a 20 ms
   per-request latency (what an embeddings API costs per round trip, about
   the same for one input as for a hundred), over real loopback HTTP; the
   same provider with `embed_batching` on and off, side by side in this
   process. Target (issue 20): texts/s batched / one-by-one >= 5 at 100
   callers.
2. The local embedding model: texts/s, batches of 64 and one at a time.
3. Semantic routing on the labelled set (tests/data/semantic_routes.json):
   accuracy, and the per-request routing latency with the local model
   (target < 2 ms).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import trio

from abstractcore_actors import open_runtime
from abstractcore_actors._routing import SemanticRoutes

sys.path.insert(0, str(Path(__file__).parent))
from _upstream import upstream_process

CALLERS = 100
CALLS_EACH = 10
LATENCY = 0.02  # s per embeddings request at the fake server


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


async def _drive(llm: Any) -> float:
    """Texts/s of CALLERS callers, each embedding CALLS_EACH texts one by one."""

    async def caller(i: int) -> None:
        for j in range(CALLS_EACH):
            await llm.embed(f"caller {i} text {j}")

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(CALLERS):
            nursery.start_soon(caller, i)
    return CALLERS * CALLS_EACH / (time.perf_counter() - start)


async def batching() -> None:
    # the fake API in a process of its own: its CPU is not the callers'
    async with upstream_process(LATENCY, embeddings=True) as url, open_runtime(env={}) as rt:
        # the provider's default limit of requests in flight (16): what an API's
        # rate limit allows a client, and what one-by-one calls queue behind
        options: dict[str, Any] = {"base_url": url}
        plain = rt.create_llm("openai-compatible", "e", name="plain", **options)
        batched = rt.create_llm(
            "openai-compatible",
            "e",
            name="batched",
            embed_batching={"max_size": 128, "max_delay": 0.005},
            **options,
        )
        # warm: the first priced call reads genai-prices' data set, imports run once
        await plain.embed("warm")
        await batched.embed("warm")
        ratios, p_rates, b_rates = [], [], []
        for _ in range(3):
            p = await _drive(plain)
            b = await _drive(batched)
            p_rates.append(p)
            b_rates.append(b)
            ratios.append(b / p)
    ratio = statistics.median(ratios)
    print(
        f"micro-batching: {CALLERS} callers x {CALLS_EACH} texts, fake API {LATENCY * 1000:.0f} ms "
        "per request (the provider's default max_concurrent, 16)"
    )
    print(f"  one by one:   {statistics.median(p_rates):8.0f} texts/s")
    print(f"  micro-batched:{statistics.median(b_rates):8.0f} texts/s")
    print(f"  ratio batched / one by one: {ratio:.1f}  (target >= 5) {_ok(ratio >= 5)}")


DATA = Path(__file__).parents[1] / "tests" / "data" / "semantic_routes.json"


async def local_model() -> None:
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("local")
        texts = [case["text"] for case in json.loads(DATA.read_text())["test"]]
        await llm.embed(texts[:2])  # load the weights first
        start = time.perf_counter()
        for i in range(0, len(texts), 64):
            await llm.embed(texts[i : i + 64])
        batched = len(texts) / (time.perf_counter() - start)
        single = []
        for text in texts:
            start = time.perf_counter()
            await llm.embed(text)
            single.append(time.perf_counter() - start)
    print("the local embedding model (universal-sentence-encoder-multilingual-3, 512 dims):")
    print(f"  batches of 64: {batched:7.0f} texts/s")
    print(
        f"  one at a time: {1 / statistics.mean(single):7.0f} texts/s "
        f"(p50 {statistics.median(single) * 1000:.2f} ms per call)"
    )


async def semantic_routing() -> None:
    data = json.loads(DATA.read_text())
    async with open_runtime(env={}) as rt:
        embedder = rt.create_llm("local")
        results = {}
        for aggregate in ("centroid", "max"):
            routes = SemanticRoutes(
                embedder=embedder,
                labels=tuple(data["routes"]),
                examples=tuple(tuple(s["examples"]) for s in data["routes"].values()),
                threshold=-1.0,
                default=next(iter(data["routes"])),
                aggregate=aggregate,
            )
            await routes.ready()
            right, took = 0, []
            for case in data["test"]:
                start = time.perf_counter()
                scores = await routes.scores(case["text"])
                took.append(time.perf_counter() - start)
                right += scores[0][0] == case["route"]
            results[aggregate] = (right / len(data["test"]), statistics.median(took))
    n = len(data["test"])
    print(
        f"semantic routing, {n} labelled requests over {len(data['routes'])} routes "
        "(8 examples each, kept apart), the local model:"
    )
    for aggregate, (accuracy, p50) in results.items():
        print(f"  {aggregate:<8} accuracy {accuracy:.3f}, routing latency p50 {p50 * 1000:.2f} ms")
    accuracy, p50 = results["centroid"]
    print(
        f"  per-request routing latency (the default, centroid): {p50 * 1000:.2f} ms "
        f"(target < 2 ms) {_ok(p50 < 0.002)}"
    )


async def main() -> None:
    await batching()
    await local_model()
    await semantic_routing()


if __name__ == "__main__":
    trio.run(main)
