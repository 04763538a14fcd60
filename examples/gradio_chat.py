"""A streaming chat in Gradio, through the sync facade: Gradio runs the chat
function in a worker thread, the function iterates `llm.stream(...)`, and
the Stop button (Gradio cancels the event and closes the generator) cancels
the model call and closes its upstream connection.

    python examples/gradio_chat.py        # http://127.0.0.1:7860/

The model is the embedded local one unless CHAT_PROVIDER / CHAT_MODEL /
CHAT_BASE_URL say otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home

import gradio as gr

from abstractcore_actors.sync import SyncRuntime


def _text(content: Any) -> str:
    """A history message's content as text (a string, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


def make_demo(
    runtime: SyncRuntime, provider: str = "local", model: str | None = None, **options: Any
) -> gr.ChatInterface:
    """The chat, answering with `provider`/`model` on `runtime` (close it when done)."""
    llm = runtime.create_llm(provider, model, **options)

    def answer(message: str, history: list[dict[str, Any]]) -> Iterator[str]:
        messages = [
            {"role": turn["role"], "content": _text(turn["content"])}
            for turn in history
            if turn.get("role") in ("user", "assistant")
        ]
        messages.append({"role": "user", "content": message})
        text = ""
        # Leaving this loop early — Stop closes the generator — closes the
        # stream, which cancels the model call on the runtime's thread.
        for chunk in llm.stream(messages=messages):
            text += chunk.text
            yield text

    return gr.ChatInterface(answer, title="abstractcore-actors chat")


if __name__ == "__main__":
    options = {"base_url": os.environ["CHAT_BASE_URL"]} if os.environ.get("CHAT_BASE_URL") else {}
    with SyncRuntime() as runtime:
        demo = make_demo(
            runtime,
            os.environ.get("CHAT_PROVIDER", "local"),
            os.environ.get("CHAT_MODEL"),
            **options,
        )
        demo.launch(server_name="127.0.0.1", server_port=7860)
