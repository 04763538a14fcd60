"""Provider overhead: this runtime vs a bare AsyncOpenAI client, same fake server.

Against the fake OpenAI server with 20 ms time to first token:
(a) 200 sequential non-streaming calls, (b) 200 streamed calls of 200 chunks.
Targets: wall-time ratio runtime/raw <= 1.05 for both; chunks/s ratio >= 0.9.
Both sides run in this process, alternating, on the same server.
"""

from __future__ import annotations

import time

import openai
import trio

from abstractcore_actors import open_runtime
from abstractcore_actors.testing import Reply, open_fake_openai_server

CALLS = 200
CHUNKS = 200
TTFT = 0.020
MESSAGES = [{"role": "user", "content": "Hi"}]


async def raw_generate(client: openai.AsyncOpenAI) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        await client.chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    return time.perf_counter() - start


async def raw_stream(client: openai.AsyncOpenAI) -> tuple[float, int]:
    start, chunks = time.perf_counter(), 0
    for _ in range(CALLS):
        stream = await client.chat.completions.create(
            model="m",
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        async for _ in stream:
            chunks += 1
    return time.perf_counter() - start, chunks


async def main() -> None:
    words = ["tok "] * CHUNKS
    reply = Reply(chunks=words, ttft=TTFT)
    async with (
        open_fake_openai_server(default=reply) as server,
        open_runtime(env={}) as rt,
    ):
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0)
        llm = rt.create_llm("openai", "m", base_url=server.base_url, api_key="sk-bench")

        async def ours_generate() -> float:
            start = time.perf_counter()
            for _ in range(CALLS):
                await llm.generate(messages=MESSAGES)
            return time.perf_counter() - start

        async def ours_stream() -> tuple[float, int]:
            start, chunks = time.perf_counter(), 0
            for _ in range(CALLS):
                async with llm.stream(messages=MESSAGES) as stream:
                    async for _ in stream:
                        chunks += 1
            return time.perf_counter() - start, chunks

        await raw_generate(client)  # warm both paths (connections, caches)
        await ours_generate()
        raw_g, ours_g = [], []
        raw_s, ours_s = [], []
        for _ in range(2):
            raw_g.append(await raw_generate(client))
            ours_g.append(await ours_generate())
            raw_s.append(await raw_stream(client))
            ours_s.append(await ours_stream())
        await client.close()

    rg, og = min(raw_g), min(ours_g)
    (rs, rc), (os_, oc) = min(raw_s), min(ours_s)
    print(f"providers: {CALLS} calls, fake OpenAI server, {TTFT * 1000:.0f} ms to first token")
    print(
        f"  (a) generate   raw {rg:7.3f}s   runtime {og:7.3f}s   ratio {og / rg:5.3f}"
        f"  (target <= 1.05)  {_ok(og / rg <= 1.05)}"
    )
    print(
        f"  (b) stream     raw {rs:7.3f}s   runtime {os_:7.3f}s   ratio {os_ / rs:5.3f}"
        f"  (target <= 1.05)  {_ok(os_ / rs <= 1.05)}"
    )
    raw_rate, our_rate = rc / rs, oc / os_
    print(
        f"      chunks/s   raw {raw_rate:9,.0f}  runtime {our_rate:9,.0f}  ratio "
        f"{our_rate / raw_rate:5.3f}  (target >= 0.90)  {_ok(our_rate / raw_rate >= 0.9)}"
    )


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


if __name__ == "__main__":
    trio.run(main)
