"""Building a `Request` from the arguments of `LLM.generate` / `stream`: the
prompt in any of its forms, the defaults, and every check with a clear error."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .._call_rules import (
    check_max_tokens,
    check_seed,
    check_temperature,
    check_tool_choice,
    check_top_p,
)
from ..errors import ValidationError
from ..types import Message, Request, ToolSpec
from ._options import check_extra, check_sendable, check_text

Prompt = str | Sequence[Message | Mapping[str, Any]] | None


def build_request(
    prompt: Prompt,
    *,
    messages: Sequence[Message | Mapping[str, Any]] | None = None,
    system_prompt: str | None = None,
    tools: Sequence[object] | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    top_p: float | None = None,
    stop: str | Sequence[str] | None = None,
    seed: int | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    session_id: str | None = None,
    request_id: str | None = None,
) -> Request:
    """Validate a call's arguments and build its Request (raises ValidationError).

    `request_id` names the call on its events (default: a fresh `req_…`); a
    gateway passes its client's id so a UI can follow the call from the start.
    """
    turns: list[Message] = []
    if system_prompt:
        turns.append(Message.system(system_prompt))
    if messages is not None:
        turns.extend(Message.coerce(m) for m in messages)
    if isinstance(prompt, str):
        turns.append(Message.user(prompt))
    elif prompt is not None:
        turns.extend(Message.coerce(m) for m in prompt)
    check_turns(turns)
    if not any(m.role != "system" for m in turns):
        raise ValidationError(
            "nothing to answer: pass a prompt string or messages=[...] with at least one "
            "user message"
        )
    check_temperature(temperature)
    check_max_tokens(max_tokens)
    check_top_p(top_p)
    check_seed(seed)
    if request_id is not None and (not isinstance(request_id, str) or not request_id):
        raise ValidationError(f"request_id must be a non-empty string (got {request_id!r})")
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    for i, text in enumerate(stops):
        check_text(text, f"stop[{i}]")
    specs = tuple(ToolSpec.coerce(t) for t in tools or ())
    for spec in specs:
        check_text(spec.name, "a tool's name")
        check_sendable(
            {"description": spec.description, "parameters": spec.parameters}, f"tool {spec.name!r}"
        )
    return Request(
        messages=tuple(turns),
        tools=specs,
        temperature=temperature,
        max_tokens=max_tokens,
        top_p=top_p,
        stop=stops,
        seed=seed,
        tool_choice=check_tool_choice(tool_choice, [s.name for s in specs]),
        extra=check_extra(extra or {}),
        request_id=request_id or f"req_{secrets.token_hex(8)}",  # (uuid4: 3x the CPU)
        session_id=session_id,
    )


def check_turns(turns: Sequence[Message]) -> None:
    """Every text a request sends is a str that can be encoded (before any request:
    a lone surrogate would otherwise fail inside the adapter, looking like its bug)."""
    for i, turn in enumerate(turns):
        check_text(turn.content, f"messages[{i}].content")
        for j, call in enumerate(turn.tool_calls):
            check_text(call.raw_arguments, f"messages[{i}].tool_calls[{j}].arguments")
            check_text(call.name, f"messages[{i}].tool_calls[{j}].name")
            check_text(call.id, f"messages[{i}].tool_calls[{j}].id")
        if turn.tool_call_id is not None:
            check_text(turn.tool_call_id, f"messages[{i}].tool_call_id")
        if turn.name is not None:
            check_text(turn.name, f"messages[{i}].name")
