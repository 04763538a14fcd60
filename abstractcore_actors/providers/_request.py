"""Building a `Request` from the arguments of `LLM.generate` / `stream`: the
prompt in any of its forms, the defaults, and every check with a clear error."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from ..types import Message, Request, ToolSpec

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
    if not any(m.role != "system" for m in turns):
        raise ValidationError(
            "nothing to answer: pass a prompt string or messages=[...] with at least one "
            "user message"
        )
    if temperature is not None and not 0 <= temperature <= 2:
        raise ValidationError(f"temperature must be between 0 and 2 (got {temperature})")
    if max_tokens is not None and (isinstance(max_tokens, bool) or max_tokens < 1):
        raise ValidationError(f"max_tokens must be a positive integer (got {max_tokens!r})")
    if top_p is not None and not 0 < top_p <= 1:
        raise ValidationError(f"top_p must be in (0, 1] (got {top_p})")
    if request_id is not None and (not isinstance(request_id, str) or not request_id):
        raise ValidationError(f"request_id must be a non-empty string (got {request_id!r})")
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    specs = tuple(ToolSpec.coerce(t) for t in tools or ())
    return Request(
        messages=tuple(turns),
        tools=specs,
        temperature=temperature,
        max_tokens=max_tokens,
        top_p=top_p,
        stop=stops,
        seed=seed,
        tool_choice=check_tool_choice(tool_choice, specs),
        extra=dict(extra or {}),
        request_id=request_id or f"req_{secrets.token_hex(8)}",  # (uuid4: 3x the CPU)
        session_id=session_id,
    )


TOOL_CHOICE_MODES = ("auto", "none", "required")


def check_tool_choice(
    choice: str | Mapping[str, Any] | None, tools: Sequence[ToolSpec]
) -> str | None:
    """`tool_choice` as the Request carries it: a mode, or the name of a tool to force.

    Accepts OpenAI's `{"type": "function", "function": {"name": ...}}` too, so
    code written against the OpenAI SDK keeps working; each adapter maps the
    name to its provider's own form.
    """
    if choice is None:
        return None
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ValidationError(
                'tool_choice as a dict must look like {"type": "function", "function": '
                '{"name": "<tool name>"}}'
            )
        choice = name
    if not isinstance(choice, str) or not choice:
        raise ValidationError(
            f"tool_choice must be 'auto', 'none', 'required' or a tool's name (got {choice!r})"
        )
    if choice in TOOL_CHOICE_MODES:
        return choice
    names = [t.name for t in tools]
    if choice not in names:
        raise ValidationError(
            f"tool_choice names the tool {choice!r}, which is not among tools= "
            f"({', '.join(names) or 'no tools given'}): pass that tool, or use 'auto'"
        )
    return choice
