"""Race providers: the first answer wins, the losers are cancelled mid-flight.

    python examples/race.py

Runs on the local SmolLM2 model (two actors with different settings); with
OPENAI_API_KEY / ANTHROPIC_API_KEY set, those providers join the race.
"""

from __future__ import annotations

import os

import trio

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.patterns import race, race_stream


def contenders(rt: Runtime) -> list[LLM]:
    llms = [
        rt.create_llm("local", name="local-a", temperature=0.2, seed=1),
        rt.create_llm("local", name="local-b", temperature=0.9, seed=2),
    ]
    if os.environ.get("OPENAI_API_KEY"):
        llms.append(rt.create_llm("openai", "gpt-4o-mini"))
    if os.environ.get("ANTHROPIC_API_KEY"):
        llms.append(rt.create_llm("anthropic", "claude-3-5-haiku-latest"))
    return llms


async def main() -> None:
    async with open_runtime() as rt:
        llms = contenders(rt)
        result = await race(llms, "Name a colour.", max_tokens=12)
        print(f"winner: {result.winners[0].label}: {result.content.strip()!r}")
        for attempt in result.attempts:
            print(f"  {attempt.label:<28} {attempt.status.value:<10} usage={attempt.usage}")
        print(f"  wasted by racing: {result.wasted_usage.total_tokens} tokens")

        async with race_stream(llms, "Say hello in French.", max_tokens=16) as stream:
            print(f"first token from {stream.winner.label}: ", end="")
            async for chunk in stream:
                print(chunk.text, end="", flush=True)
            print()


if __name__ == "__main__":
    trio.run(main)
