"""`make demo`: the showcase, live, on the embedded local model (no API key needed).

1. a streamed session (a conversation actor keeping the history), token by token,
   with a tool added mid-session and called, and context injected while it streams;
2. a race: three contenders, the first answer wins, the losers are cancelled;
3. an ensemble: several settings vote on an answer;
4. a person pressing Stop: a long answer cut off mid-stream, cleanly.

With OPENAI_API_KEY / ANTHROPIC_API_KEY set, those providers join in.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import trio

from abstractcore_actors import LLM, Runtime, ensemble, open_runtime, race, race_stream, tool
from abstractcore_actors.events import Event
from abstractcore_actors.sessions import Session
from abstractcore_actors.types import Chunk

BOLD, DIM, END = "\033[1m", "\033[2m", "\033[0m"


def title(text: str) -> None:
    print(f"\n{BOLD}== {text}{END}")


def hosted(rt: Runtime) -> list[LLM]:
    llms = []
    if os.environ.get("OPENAI_API_KEY"):
        llms.append(rt.create_llm("openai", "gpt-4o-mini", max_tokens=60))
    if os.environ.get("ANTHROPIC_API_KEY"):
        llms.append(rt.create_llm("anthropic", "claude-3-5-haiku-latest", max_tokens=60))
    return llms


async def streamed_chat(rt: Runtime, llm: LLM) -> None:
    title(f"1. a streamed session with {llm.provider}/{llm.model}")
    # SmolLM2 follows its own built-in system prompt best, so we add none.
    # The session actor keeps the history; each turn streams as it is made.
    chat = rt.session(llm, max_tokens=48, temperature=0.0)
    for question in ("What color is the sky on a clear day?", "Why?"):
        print(f"{DIM}you:{END} {question}\n{DIM}bot:{END} ", end="", flush=True)
        async with chat.stream(question) as turn:
            async for chunk in turn:
                print(chunk.text, end="", flush=True)
        reply = turn.response()
        ttft = reply.timings.ttft or 0.0
        print(f"\n{DIM}   ({reply.usage.completion_tokens} tokens, first after {ttft:.2f}s){END}")
    # Tools can join a running session; the model calls them, the session runs them.
    await chat.add_tool(get_weather)
    off = rt.events.on("tool.completed", show_tool)
    # (a 135M model is told to use it; hosted models choose tools themselves)
    await ask(chat, "What is the weather in Paris?", tool_choice="required")
    off()
    await chat.remove_tool("get_weather")
    # A person adds context while the answer streams: the session stops the
    # answer at once and goes on with the new context, in the same turn.
    question = "Write a short poem about the sea."
    print(f"{DIM}you:{END} {question}\n{DIM}bot:{END} ", end="", flush=True)
    async with trio.open_nursery() as nursery, chat.stream(question) as turn:

        async def interject() -> None:
            print(f"\n{DIM}you (while it streams):{END} about mountains instead, please")
            print(f"{DIM}bot:{END} ", end="", flush=True)
            await chat.inject("Make the poem about mountains instead.")

        async for n, chunk in _numbered(turn):
            print(chunk.text, end="", flush=True)
            if n == 12:
                nursery.start_soon(interject)
    print(f"\n{DIM}   the session holds {len(chat.history)} messages{END}")


async def _numbered(chunks: AsyncIterator[Chunk]) -> AsyncIterator[tuple[int, Chunk]]:
    n = 0
    async for chunk in chunks:
        n += 1
        yield n, chunk


async def ask(chat: Session, question: str, **options: Any) -> None:
    print(f"{DIM}you:{END} {question}\n{DIM}bot:{END} ", end="", flush=True)
    async with chat.stream(question, **options) as turn:
        async for chunk in turn:
            print(chunk.text, end="", flush=True)
    print()


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"sunny, 21 C in {city}"


def show_tool(event: Event) -> None:
    print(f"{DIM}   [tool {event.tool}: {'ok' if event.ok else event.error}]{END}")  # type: ignore[attr-defined]


async def a_race(contenders: list[LLM]) -> None:
    title(f"2. a race between {len(contenders)} contenders (first answer wins)")
    result = await race(contenders, "Name a fruit that is red.", max_tokens=16)
    print(f"winner {BOLD}{result.winners[0].label}{END}: {result.content.strip()!r}")
    for attempt in result.attempts:
        extra = "(estimated)" if attempt.usage_is_estimate else ""
        print(
            f"  {attempt.label:<26} {attempt.status.value:<10} "
            f"{attempt.usage.completion_tokens:>3} completion tokens {extra}"
        )
    print(f"{DIM}   racing cost {result.wasted_usage.total_tokens} extra tokens{END}")
    async with race_stream(contenders, "Say hello in Spanish.", max_tokens=16) as stream:
        print(f"streamed race, first token from {BOLD}{stream.winner.label}{END}: ", end="")
        async for chunk in stream:
            print(chunk.text, end="", flush=True)
    print()


async def an_ensemble(voters: list[LLM]) -> None:
    title(f"3. an ensemble of {len(voters)} voters")
    result = await ensemble(
        voters, "What is 2 + 2? Answer with a number only.", combine="vote", max_tokens=12
    )
    for attempt in result.attempts:
        answer = attempt.response.content.strip() if attempt.response else str(attempt.error)
        print(f"  {attempt.label:<26} {attempt.status.value:<9} {answer!r}")
    print(f"vote: {BOLD}{result.content.strip()!r}{END} ({len(result.winners)} agreeing)")


async def stop_button(llm: LLM) -> None:
    title("4. a person presses Stop after 1.5 seconds")
    with trio.move_on_after(1.5) as stop:
        async with llm.stream("Write a long story about a lighthouse.", max_tokens=400) as s:
            async for chunk in s:
                print(chunk.text, end="", flush=True)
    state = "stopped" if stop.cancelled_caught else "finished"
    print(f"\n{DIM}   {state}: generation cancelled within one token, nothing left running{END}")


async def main() -> None:
    async with open_runtime() as rt:
        local = rt.create_llm("local", name="local", temperature=0.3)
        extra = hosted(rt)
        contenders = [
            local,
            rt.create_llm("local", name="local-warm", temperature=0.8, seed=2),
            rt.create_llm("local", name="local-hot", temperature=1.2, seed=3),
            *extra,
        ]
        await streamed_chat(rt, extra[0] if extra else local)
        await a_race(contenders)
        await an_ensemble(contenders)
        await stop_button(local)
    print(f"\n{DIM}runtime closed: every actor, socket and thread is gone{END}")


if __name__ == "__main__":
    trio.run(main)
