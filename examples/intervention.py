"""Intervention: new context joins an answer while it streams.

    python examples/intervention.py

A session starts answering "Plan my afternoon"; a second task, a few words
in, injects "It is raining today". The answer being streamed stops (what it
said so far stays in the history, marked "interrupted") and the same turn
goes on with the new context: the stream you are reading simply continues.
The `ContextInjected` events show where the context was queued and where it
joined. Runs on the local SmolLM2 model; with OPENAI_API_KEY set, on
gpt-4o-mini instead.
"""

from __future__ import annotations

import os
import time

import trio

from abstractcore_actors import LLM, Runtime, open_runtime
from abstractcore_actors.events import ContextInjected
from abstractcore_actors.sessions import Session

BOLD, DIM, END = "\033[1m", "\033[2m", "\033[0m"
INJECT_AFTER = 12  # chunks of the answer before the rain starts
CONTEXT = "It is raining today, so I want to stay indoors."


def pick_llm(rt: Runtime) -> LLM:
    if os.environ.get("OPENAI_API_KEY"):
        return rt.create_llm("openai", "gpt-4o-mini")
    return rt.create_llm("local", temperature=0.3, seed=1)


async def show_injections(rt: Runtime, session: Session, ready: trio.Event) -> None:
    """Mark the stream where context is queued and where it joins the turn."""
    async with rt.events.subscribe(ContextInjected, session_id=session.id) as events:
        ready.set()
        async for event in events:
            assert isinstance(event, ContextInjected)
            if event.applied:
                print(f"\n{BOLD}[context joined the turn: {event.text!r}]{END}\n", flush=True)
            else:
                print(f"{DIM} [queued: {event.text!r}]{END}", end="", flush=True)


async def inject_later(session: Session, seen: trio.Event) -> None:
    """Another task: a person (or a sensor) adds context mid-answer."""
    await seen.wait()
    await session.inject(CONTEXT)


async def main() -> None:
    async with open_runtime() as rt:
        llm = pick_llm(rt)
        # SmolLM2 follows its own built-in system prompt best, so we add none.
        session = rt.session(llm, max_tokens=70)
        print(f"{DIM}model: {llm.provider}/{llm.model}{END}")
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            ready, seen = trio.Event(), trio.Event()
            nursery.start_soon(show_injections, rt, session, ready)
            await ready.wait()
            nursery.start_soon(inject_later, session, seen)
            question = "Suggest a plan for my afternoon in Paris."
            print(f"{DIM}you:{END} {question}\n{DIM}bot:{END} ", end="", flush=True)
            chunks = 0
            async with session.stream(question) as turn:
                async for chunk in turn:
                    print(chunk.text, end="", flush=True)
                    chunks += 1
                    if chunks == INJECT_AFTER:
                        seen.set()
            seen.set()  # a very short answer: inject anyway (it joins the next turn)
            answer = turn.response()
            print(f"\n{DIM}   (finish: {answer.finish_reason}, {chunks} chunks){END}")
            await trio.sleep(0.1)  # let the event printer catch up before it is stopped
            nursery.cancel_scope.cancel()

        print(f"\n{BOLD}history{END} (role, status, text):")
        for entry in session.entries:
            text = " ".join(entry.message.content.split())
            short = text if len(text) <= 70 else text[:67] + "..."
            print(f"  {entry.message.role:<9} {entry.status:<11} {short}")
        if session.pending:
            print(f"  {DIM}queued for the next turn: {[m.content for m in session.pending]}{END}")
        print(f"{DIM}({time.perf_counter() - start:.1f}s){END}")


if __name__ == "__main__":
    trio.run(main)
