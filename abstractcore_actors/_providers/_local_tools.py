"""Tool calling on the local model, by grammar.

SmolLM2 has no native tool-call format, so a request with tools becomes a
request for one JSON object, constrained by a JSON-schema grammar (sampling
can only produce that shape): `{"tool": NAME, "arguments": {...}}` to call
one of the tools (its arguments constrained by that tool's own schema), or
`{"answer": "..."}` to reply in text. The tools are described in a system
message; earlier calls and their results in the history are written as the
model would have said and read them. `ToolReply` turns the generated JSON
back into chunks: the answer's text as it streams (read from the partial
JSON), or one tool call at the end. Once tool results are in, the next
step may only answer: one round of calls per turn (a small model otherwise
calls the same tool again and again).

A small model calls tools less reliably than a hosted one; the grammar
makes every call well-formed, not always apt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import attrs
import jiter

from ..types import Chunk, Message, Request, ToolCallDelta, ToolSpec


def prepare(request: Request) -> Request:
    """The request the local model runs: tools as a grammar and a system message
    (none without tools, or with tool_choice="none"), and the history's tool
    calls and results as plain messages (its chat template has no place for them)."""
    tools = request.tools
    messages = _plain_history(request.messages)
    if not tools or request.tool_choice == "none":
        return attrs.evolve(request, tools=(), tool_choice=None, messages=messages)
    choice = request.tool_choice
    if request.messages[-1].role == "tool":
        # Results are in: the model answers with them. One round of calls per
        # turn, since a small model otherwise calls the same tool again and again.
        choice = "answer"
    choices = _choices(tools, choice)
    schema = {"anyOf": choices} if len(choices) > 1 else choices[0]
    prompt = Message.system(_describe(tools, answer_allowed=choice in (None, "auto", "answer")))
    extra = {
        **request.extra,
        "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
    }
    return attrs.evolve(
        request, tools=(), tool_choice=None, messages=(prompt, *messages), extra=extra
    )


def _forced(tools: Sequence[ToolSpec], choice: str | None) -> list[ToolSpec]:
    if choice in (None, "auto", "required"):
        return list(tools)
    return [t for t in tools if t.name == choice]


def _choices(tools: Sequence[ToolSpec], choice: str | None) -> list[dict[str, Any]]:
    answer = {
        "type": "object",
        "properties": {"answer": {"type": "string"}},
        "required": ["answer"],
    }
    if choice == "answer":
        return [answer]
    calls = [
        {
            "type": "object",
            "properties": {
                "tool": {"const": tool.name},
                "arguments": dict(tool.parameters) or {"type": "object"},
            },
            "required": ["tool", "arguments"],
        }
        for tool in _forced(tools, choice)
    ]
    return [*calls, answer] if choice in (None, "auto") else calls


def _describe(tools: Sequence[ToolSpec], *, answer_allowed: bool) -> str:
    listed = "\n".join(
        f"- {t.name}: {t.description or 'no description'} "
        f"Arguments (JSON schema): {json.dumps(dict(t.parameters))}"
        for t in tools
    )
    how = (
        'To call a tool, reply {"tool": "<name>", "arguments": {...}}. '
        'To answer the user, reply {"answer": "<your answer>"}. '
        "Call a tool when it helps; once a tool's result is in, answer with it."
        if answer_allowed
        else 'Call one of them: reply {"tool": "<name>", "arguments": {...}}.'
    )
    return f"You can use these tools:\n{listed}\n{how}"


def _plain_history(messages: Sequence[Message]) -> tuple[Message, ...]:
    """Earlier tool calls as the JSON the model replied, results as what it read."""
    plain: list[Message] = []
    for message in messages:
        if message.role == "assistant" and message.tool_calls:
            said = [
                json.dumps({"tool": c.name, "arguments": dict(c.arguments)})
                for c in message.tool_calls
            ]
            plain.append(Message.assistant("\n".join(said)))
        elif message.role == "tool":
            plain.append(Message.user(f"Result of the tool: {message.content}"))
        else:
            plain.append(message)
    return tuple(plain)


class ToolReply:
    """The generated JSON, as the chunks a tool-calling model would send."""

    def __init__(self) -> None:
        self._text = ""
        self._said = 0  # characters of the answer already sent

    def feed(self, chunk: Chunk) -> list[Chunk]:
        self._text += chunk.text
        out: list[Chunk] = []
        answer = self._answer_so_far()
        if answer is not None and len(answer) > self._said:
            out.append(Chunk(text=answer[self._said :]))
            self._said = len(answer)
        if chunk.finish_reason is not None:
            out.append(self._end(chunk))
        return out

    def _answer_so_far(self) -> str | None:
        try:
            value = jiter.from_json(self._text.encode(), partial_mode="trailing-strings")
        except ValueError:
            return None
        answer = value.get("answer") if isinstance(value, dict) else None
        return answer if isinstance(answer, str) else None

    def _end(self, last: Chunk) -> Chunk:
        try:
            value = json.loads(self._text)
        except ValueError:  # cut off (max_tokens): what was said is the answer
            return Chunk(finish_reason=last.finish_reason, usage=last.usage)
        if isinstance(value, dict) and isinstance(value.get("tool"), str):
            call = ToolCallDelta(
                index=0,
                id=f"call_{uuid.uuid4().hex[:12]}",
                name=value["tool"],
                arguments=json.dumps(value.get("arguments") or {}),
            )
            return Chunk(tool_calls=(call,), finish_reason="tool_calls", usage=last.usage)
        return Chunk(finish_reason=last.finish_reason, usage=last.usage)
