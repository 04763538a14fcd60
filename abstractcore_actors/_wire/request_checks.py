"""Checks every wire format's request parser makes of decoded JSON: strict
JSON, a value's JSON type as a client would name it, and the
`ValidationError` (naming the field) a wrong one gets."""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import ValidationError

#: a tool name every model API accepts
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw`; ValidationError when it is not strict JSON."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ValidationError(f"the request body is not valid JSON: {exc}") from None


_JSON_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def json_kind(value: object) -> str:
    """The JSON type of a decoded value, as a client would name it."""
    for kind, name in _JSON_KINDS:
        if isinstance(value, kind):
            return name
    return "null"


def shown(value: object) -> str:
    """What a client sent, briefly: its JSON type, and a short string itself."""
    if isinstance(value, str) and len(value) <= 40:
        return f"string {value!r}"
    return json_kind(value)


def expect(ok: bool, param: str, wanted: str, value: object) -> None:
    if not ok:
        raise ValidationError(f"{param} must be {wanted} (got {shown(value)})", param=param)


def as_list(value: object, param: str, wanted: str = "a list") -> list[Any]:
    expect(isinstance(value, list), param, wanted, value)
    return value  # type: ignore[return-value]


def as_object(value: object, param: str) -> dict[str, Any]:
    expect(isinstance(value, dict), param, "an object", value)
    return value  # type: ignore[return-value]
