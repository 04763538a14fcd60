"""Ensemble: ask several models at once and combine (vote, concat, judge, custom).

    python examples/ensemble.py

Runs on the local SmolLM2 model at three temperatures; with OPENAI_API_KEY /
ANTHROPIC_API_KEY set, those providers vote too.
"""

from __future__ import annotations

import os

import trio

from abstractcore_actors import LLM, open_runtime
from abstractcore_actors.patterns import ensemble


async def main() -> None:
    async with open_runtime() as rt:
        voters: list[LLM] = [
            rt.create_llm("local", name=f"local-t{t}", temperature=t, seed=n)
            for n, t in enumerate((0.0, 0.6, 1.2))
        ]
        if os.environ.get("OPENAI_API_KEY"):
            voters.append(rt.create_llm("openai", "gpt-4o-mini"))
        if os.environ.get("ANTHROPIC_API_KEY"):
            voters.append(rt.create_llm("anthropic", "claude-3-5-haiku-latest"))

        voted = await ensemble(
            voters, "What is the capital of France? One word.", combine="vote", max_tokens=8
        )
        print(f"vote: {voted.content.strip()!r} (from {len(voted.winners)} matching answers)")
        for attempt in voted.attempts:
            answer = attempt.response.content.strip() if attempt.response else attempt.error
            print(f"  {attempt.label:<28} {attempt.status.value:<9} {answer!r}")

        quorum = await ensemble(
            voters, "Name a fruit.", combine="concat", min_responses=2, max_tokens=8
        )
        print(f"first two of {len(voters)} (the rest cancelled):\n{quorum.content}")
        print(f"total usage: {quorum.usage}, wasted: {quorum.wasted_usage}")


if __name__ == "__main__":
    trio.run(main)
