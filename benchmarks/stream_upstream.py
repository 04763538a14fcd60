"""What asking a whole answer as a stream costs (`stream_upstream`).

The openai-compatible adapter can send a non-streamed call upstream as a
stream and assemble the answer, so that cancelling the call stops the
server (llama.cpp computes a non-streamed answer to its end after its client
has gone). The price is parsing SSE instead of one JSON body. Both ways run
side by side in this process, alternating, on the same fake server with no
time to first token (so the figure is our CPU, not the server's pace), for
short (20 tokens), medium (200) and long (1,000) answers.
"""

from __future__ import annotations

import time

import trio

from abstractcore_actors import open_runtime
from abstractcore_actors.testing import Reply, open_fake_openai_server

CALLS = 200
ROUNDS = 3
MESSAGES = [{"role": "user", "content": "Hi"}]


async def _calls(llm: object) -> float:
    start = time.perf_counter()
    for _ in range(CALLS):
        await llm.generate(messages=MESSAGES)  # type: ignore[attr-defined]
    return time.perf_counter() - start


async def main() -> None:
    print(f"stream_upstream: {CALLS} whole answers per run, best of {ROUNDS}, fake server")
    for tokens in (20, 200, 1000):
        reply = Reply(chunks=["tok "] * tokens)
        async with (
            open_fake_openai_server(default=reply) as server,
            open_runtime(env={}) as rt,
        ):
            common = {"base_url": server.base_url, "api_key": "sk-bench", "max_retries": 0}
            whole = rt.create_llm("openai-compatible", "m", stream_upstream=False, **common)
            streamed = rt.create_llm("openai-compatible", "m", stream_upstream=True, **common)
            await _calls(whole)  # warm both (connections, caches)
            await _calls(streamed)
            times: dict[str, list[float]] = {"whole": [], "streamed": []}
            for _ in range(ROUNDS):
                times["whole"].append(await _calls(whole))
                times["streamed"].append(await _calls(streamed))
        w, s = min(times["whole"]), min(times["streamed"])
        print(
            f"  {tokens:5d} tokens   whole {w / CALLS * 1e3:6.2f} ms/call   "
            f"as a stream {s / CALLS * 1e3:6.2f} ms/call   ratio {s / w:5.2f}"
        )


if __name__ == "__main__":
    trio.run(main)
