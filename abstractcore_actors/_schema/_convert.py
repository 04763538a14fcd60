"""Parsed JSON -> the annotated Python value: the other direction of `describe`,
used for a model's tool arguments and for structured answers alike.

Checked strictly — no string is read as a number, no bool passes for an int —
because a silent guess hides the model's mistake; each problem is reported
with its path (`stops[2].city`) so the model can be told. The one lenient
case is lossless: an integer is accepted for a float, and a float with no
fractional part (`3.0`) for an int, as JSON Schema's own "integer" does.
Records (attrs classes, dataclasses) are built from their objects, arrays
become the annotated container (list, tuple, set), enums become members.
"""

from __future__ import annotations

import difflib
import enum
import json
import typing
from collections.abc import Mapping
from typing import Any

from ._types import (
    ARRAY_ORIGINS,
    MAPPING_ORIGINS,
    is_record,
    is_union,
    record_fields,
    strip_annotated,
)

_NONE = type(None)
Problem = tuple[str, str]  # (where, what is wrong)


class Invalid(Exception):
    """A value that does not fit its type: one or more (path, problem) pairs."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems


def convert(hint: Any, value: Any, path: str = "") -> Any:
    """`value` (parsed JSON) as `hint`'s Python type; raises Invalid with every problem."""
    hint, _ = strip_annotated(hint)
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if is_union(hint):
        return _convert_union(hint, value, path)
    if origin is typing.Literal:
        for allowed in typing.get_args(hint):
            if type(allowed) is type(value) and allowed == value:
                return allowed
        raise _wrong(hint, value, path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        for member in hint:
            if type(member.value) is type(value) and member.value == value:
                return member
        raise _wrong(hint, value, path)
    if is_record(hint):
        return _convert_record(hint, value, path)
    if hint in ARRAY_ORIGINS or origin in ARRAY_ORIGINS:
        return _convert_array(hint, origin, value, path)
    if hint in MAPPING_ORIGINS or origin in MAPPING_ORIGINS:
        return _convert_mapping(hint, value, path)
    return _convert_scalar(hint, value, path)


def unexpected(what: str, name: str, known: list[str]) -> str:
    """The problem of a name that is not among `known`, with a "did you mean"."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    allowed = ", ".join(known) if known else "none"
    return f"unexpected {what} {name!r}{hint}; the {what}s are: {allowed}"


def expected(hint: Any) -> str:
    """What a value of `hint` looks like, in words a model reads."""
    hint, _ = strip_annotated(hint)
    origin = typing.get_origin(hint)
    if hint is Any:
        return "any JSON value"
    if hint is None or hint is _NONE:
        return "null"
    simple = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if hint in simple:
        return simple[hint]
    if is_union(hint):
        return " or ".join(expected(a) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(v) for v in typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(json.dumps(m.value) for m in hint)
    if is_record(hint):
        return f"an object ({hint.__name__})"
    if hint in ARRAY_ORIGINS or origin in ARRAY_ORIGINS:
        return "an array"
    return "an object"


def _json_type(value: object) -> str:
    match value:
        case None:
            return "null"
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "number"
        case str():
            return "string"
        case list() | tuple():
            return "array"
        case Mapping():
            return "object"
    return type(value).__name__


def _show(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({_json_type(value)})"


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _wrong(hint: Any, value: Any, path: str) -> Invalid:
    return Invalid([(path or "the value", f"expected {expected(hint)}, got {_show(value)}")])


def _convert_scalar(hint: Any, value: Any, path: str) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if hint is None or hint is _NONE:
        fits = value is None
    elif hint is bool:
        fits = isinstance(value, bool)
    elif hint is int:
        fits = is_number and (isinstance(value, int) or value.is_integer())
        value = int(value) if fits else value
    elif hint is float:
        fits = is_number
        value = float(value) if fits else value
    else:
        fits = hint is str and isinstance(value, str)
    if not fits:
        raise _wrong(hint, value, path)
    return value


def _convert_union(hint: Any, value: Any, path: str) -> Any:
    options = typing.get_args(hint)
    if value is None:
        if _NONE in options:
            return None
        raise Invalid([(path or "the value", f"must not be null: expected {expected(hint)}")])
    failures: list[Invalid] = []
    for option in options:
        if option is _NONE:
            continue
        try:
            return convert(option, value, path)
        except Invalid as found:
            failures.append(found)
    if len(failures) == 1:
        raise failures[0]  # `X | None`: X's own, more precise, problem
    raise _wrong(hint, value, path)


def _convert_array(hint: Any, origin: Any, value: Any, path: str) -> Any:
    if not isinstance(value, list):
        raise _wrong(hint, value, path)
    args = typing.get_args(hint)
    item_type = args[0] if args else Any
    items: list[Any] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        try:
            items.append(convert(item_type, item, f"{path}[{index}]"))
        except Invalid as found:
            problems.extend(found.problems)
    if problems:
        raise Invalid(problems)
    container = ARRAY_ORIGINS[origin or hint]
    try:
        return container(items)
    except TypeError as exc:  # a set of unhashable items
        raise Invalid([(path, f"cannot be made a {container.__name__}: {exc}")]) from None


def _convert_mapping(hint: Any, value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise _wrong(hint, value, path)
    args = typing.get_args(hint)
    value_type = args[1] if args else Any
    converted: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, item in value.items():
        try:
            converted[key] = convert(value_type, item, f"{path}[{json.dumps(key)}]")
        except Invalid as found:
            problems.extend(found.problems)
    if problems:
        raise Invalid(problems)
    return converted


def _convert_record(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise _wrong(cls, value, path)
    fields = record_fields(cls)
    known = [f.key for f in fields]
    problems = [
        (path or "the value", unexpected("field", key, known)) for key in value if key not in known
    ]
    kwargs: dict[str, Any] = {}
    for field in fields:
        where = _at(path, field.key)
        if field.key not in value:
            if field.required:
                problems.append((where, f"missing required field ({expected(field.hint)})"))
            continue
        try:
            kwargs[field.key] = convert(field.hint, value[field.key], where)
        except Invalid as found:
            problems.extend(found.problems)
    if problems:
        raise Invalid(problems)
    try:
        return cls(**kwargs)
    except Exception as exc:  # the class's own validators have the last word
        raise Invalid(
            [(path or "the value", f"{cls.__name__} rejected these values: {exc}")]
        ) from None
