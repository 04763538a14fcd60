"""The documented ranges of a call's fields, written once.

`LLM.generate` / `stream` (through `build_request`) and the gateway's
request decoder both check a call with these, so a rule cannot drift
between the library and the gateway. Each raises `ValidationError` whose
`param` names the field, which the gateway reports as its 400's `param`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ValidationError

MAX_TOKENS_LIMIT = 2**31 - 1  # what upstreams count tokens in; more is never meant
SEED_RANGE = (-(2**63), 2**63 - 1)  # OpenAI's seed is a 64-bit integer
TOOL_CHOICE_MODES = ("auto", "none", "required")
MAX_TOP_LOGPROBS = 20


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    # (math.isfinite on a huge int raises OverflowError: ints are finite anyway)
    return is_int(value) or (isinstance(value, float) and math.isfinite(value))


def shown(value: object) -> str:
    """A value as an error message quotes it: briefly (a client may send 10**400)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{type(value).__name__} {text[:24]}..."


def check_timeout(value: object, param: str = "timeout") -> float:
    """A timeout in seconds (> 0), or None for none: math.inf."""
    if value is None:
        return math.inf
    if not (is_number(value) and value > 0):  # type: ignore[operator]
        raise ValidationError(
            f"{param} must be a number of seconds > 0, or None (got {shown(value)})", param=param
        )
    return float(value)  # type: ignore[arg-type]


def check_temperature(value: object) -> None:
    if value is not None and not (is_number(value) and 0 <= value <= 2):  # type: ignore[operator]
        raise ValidationError(
            f"temperature must be a number from 0 to 2 (got {shown(value)})", param="temperature"
        )


def check_top_p(value: object) -> None:
    if value is not None and not (is_number(value) and 0 < value <= 1):  # type: ignore[operator]
        raise ValidationError(
            f"top_p must be a number in (0, 1] (got {shown(value)})", param="top_p"
        )


def check_max_tokens(value: object, param: str = "max_tokens") -> None:
    if value is not None and not (is_int(value) and 1 <= value <= MAX_TOKENS_LIMIT):  # type: ignore[operator]
        raise ValidationError(
            f"{param} must be an integer from 1 to {MAX_TOKENS_LIMIT} (got {shown(value)})",
            param=param,
        )


def check_seed(value: object) -> None:
    low, high = SEED_RANGE
    if value is not None and not (is_int(value) and low <= value <= high):  # type: ignore[operator]
        raise ValidationError(f"seed must be a 64-bit integer (got {shown(value)})", param="seed")


def check_logprobs(logprobs: object, top: object) -> None:
    """OpenAI's rules: a boolean, and 0..20 alternatives only with logprobs on."""
    if logprobs is not None and not isinstance(logprobs, bool):
        raise ValidationError(
            f"logprobs must be true or false (got {shown(logprobs)})", param="logprobs"
        )
    if top is None:
        return
    if not (is_int(top) and 0 <= top <= MAX_TOP_LOGPROBS):  # type: ignore[operator]
        raise ValidationError(
            f"top_logprobs must be an integer from 0 to {MAX_TOP_LOGPROBS} (got {shown(top)})",
            param="top_logprobs",
        )
    if not logprobs:
        raise ValidationError("top_logprobs needs logprobs to be true", param="top_logprobs")


def check_tool_choice(choice: str | Mapping[str, Any] | None, names: Sequence[str]) -> str | None:
    """`tool_choice` as a Request carries it: a mode, or the name of a tool to force.

    Accepts OpenAI's `{"type": "function", "function": {"name": ...}}` too, so
    code written against the OpenAI SDK keeps working; each adapter maps the
    name to its provider's own form.
    """
    if choice is None:
        return None
    if isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else None
        if choice.get("type", "function") != "function" or not isinstance(name, str) or not name:
            raise ValidationError(
                'tool_choice as an object must look like {"type": "function", "function": '
                '{"name": "<tool name>"}}',
                param="tool_choice",
            )
        choice = name
    if not isinstance(choice, str) or not choice:
        raise ValidationError(
            "tool_choice must be 'auto', 'none', 'required' or a tool's name "
            f"(got {shown(choice)})",
            param="tool_choice",
        )
    if choice in TOOL_CHOICE_MODES:
        return choice
    if choice not in names:
        raise ValidationError(
            f"tool_choice names the tool {choice!r}, which is not among the tools "
            f"({', '.join(names) or 'none given'}): pass that tool, or use 'auto'",
            param="tool_choice",
        )
    return choice
