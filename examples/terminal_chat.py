"""A chat in the terminal: answers stream as they are made, and Ctrl-C stops
only the answer under way (the model call is cancelled; the conversation
goes on). Ctrl-C at the prompt, Ctrl-D or /quit leaves.

    python examples/terminal_chat.py

The model is the embedded local one unless CHAT_PROVIDER / CHAT_MODEL /
CHAT_BASE_URL say otherwise. The model's text is printed as text (rich's
markup is off for it): whatever it says is never taken as formatting.

Ctrl-C arrives as a signal, which a task of this program receives
(`trio.open_signal_receiver`) instead of trio raising KeyboardInterrupt:
while an answer streams it cancels that answer's scope, and only that.
Lines are read from stdin through trio, so no thread is left waiting.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import trio
from rich.console import Console

from abstractcore_actors import open_runtime
from abstractcore_actors.sessions import Session


async def chat(console: Console, session: Session) -> None:
    stdin = trio.lowlevel.FdStream(os.dup(0))
    lines = _lines(stdin)
    answering: trio.CancelScope | None = None
    async with trio.open_nursery() as nursery:

        async def on_ctrl_c() -> None:
            with trio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    if answering is not None:
                        answering.cancel()  # stop this answer only
                    else:
                        nursery.cancel_scope.cancel()  # at the prompt: leave

        nursery.start_soon(on_ctrl_c)
        while True:
            console.print("[bold green]you>[/] ", end="")
            line = await lines.__anext__()
            if line is None or line.strip() == "/quit":
                break
            if not line.strip():
                continue
            console.print("[bold blue]bot>[/] ", end="")
            with trio.CancelScope() as answering:
                async with session.stream(line.strip()) as turn:
                    async for chunk in turn:
                        console.print(chunk.text, end="", markup=False, highlight=False)
            stopped, answering = answering.cancelled_caught, None
            console.print(" [dim]\\[stopped][/]" if stopped else "")
        nursery.cancel_scope.cancel()
    await stdin.aclose()
    console.print("[dim]bye[/]")


async def _lines(stream: trio.lowlevel.FdStream) -> Any:
    """Lines of `stream` (None at its end)."""
    buffer = b""
    while True:
        while b"\n" not in buffer:
            data = await stream.receive_some(4096)
            if not data:
                yield None
                return
            buffer += data
        line, buffer = buffer.split(b"\n", 1)
        yield line.decode(errors="replace")


async def main() -> None:
    provider = os.environ.get("CHAT_PROVIDER", "local")
    options = {"base_url": os.environ["CHAT_BASE_URL"]} if os.environ.get("CHAT_BASE_URL") else {}
    console = Console()
    async with open_runtime() as rt:
        llm = rt.create_llm(provider, os.environ.get("CHAT_MODEL"), **options)
        console.print(f"[dim]chatting with {llm.provider}/{llm.model}; Ctrl-C stops an answer[/]")
        await chat(console, rt.session(llm))


if __name__ == "__main__":
    trio.run(main)
