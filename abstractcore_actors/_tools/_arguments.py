"""Check the model's arguments against a tool's parameters and build the call's values.

The model's arguments are parsed JSON. They are checked strictly — no
string is read as a number, no bool passes for an int — because a silent
guess hides the model's mistake; the model is told instead, in a message
naming the tool, the argument's path (`stops[2].city`) and the problem, so
it can send a corrected call. The one lenient case is lossless: an integer
is accepted for a float, and a float with no fractional part (`3.0`) for an
int, as JSON Schema's own "integer" does.

Nested attrs classes are built from their objects, lists become the
annotated container (list, tuple, set), enums become members.
"""

from __future__ import annotations

import difflib
import enum
import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..errors import ValidationError
from ._schema import (
    ARRAY_ORIGINS,
    MAPPING_ORIGINS,
    init_fields,
    is_attrs_class,
    is_union,
    strip_annotated,
)
from ._signature import Parameter

# Enough problems for the model to fix a call in one go, not a wall of text.
_MAX_PROBLEMS = 8
_NONE = type(None)


class ArgumentsRejected(ValidationError):
    """The model's arguments do not fit the tool; the message is written for the model."""


class _Problems(Exception):
    """One or more (path, problem) pairs found while converting a value."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


def convert_arguments(
    tool_name: str, parameters: Sequence[Parameter], arguments: Mapping[str, Any]
) -> dict[str, Any]:
    """The keyword arguments to call the tool with; raises ArgumentsRejected."""
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    known = [p.name for p in parameters]
    for name in arguments:
        if name not in known:
            problems.append((name, _unexpected("argument", name, known)))
    for parameter in parameters:
        if parameter.name not in arguments:
            if parameter.required:
                expected = _expected(parameter.annotation)
                problems.append((parameter.name, f"missing required argument ({expected})"))
            continue
        try:
            values[parameter.name] = _convert(
                parameter.annotation, arguments[parameter.name], parameter.name
            )
        except _Problems as found:
            problems.extend(found.problems)
    if problems:
        raise ArgumentsRejected(_message(tool_name, problems))
    return values


def _message(tool_name: str, problems: list[tuple[str, str]]) -> str:
    shown = [f"{path}: {problem}" for path, problem in problems[:_MAX_PROBLEMS]]
    more = len(problems) - _MAX_PROBLEMS
    if more > 0:
        shown.append(f"and {more} more problem(s)")
    return (
        f"invalid arguments for tool {tool_name}: {'; '.join(shown)}. "
        f"Fix the arguments to match the tool's schema and call {tool_name} again."
    )


def _unexpected(what: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    allowed = ", ".join(known) if known else "none"
    return f"unexpected {what} {name!r}{hint}; the {what}s are: {allowed}"


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


def _expected(annotation: Any) -> str:
    annotation, _ = strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return "any JSON value"
    if annotation is None or annotation is _NONE:
        return "null"
    simple = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    if annotation in simple:
        return simple[annotation]
    if is_union(annotation):
        return " or ".join(_expected(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(v) for v in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(json.dumps(m.value) for m in annotation)
    if is_attrs_class(annotation):
        return f"an object ({annotation.__name__})"
    if annotation in ARRAY_ORIGINS or origin in ARRAY_ORIGINS:
        return "an array"
    return "an object"


def _convert(annotation: Any, value: Any, path: str) -> Any:
    annotation, _ = strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return value
    if is_union(annotation):
        return _convert_union(annotation, value, path)
    if origin is typing.Literal:
        for allowed in typing.get_args(annotation):
            if type(allowed) is type(value) and allowed == value:
                return allowed
        raise _wrong(annotation, value, path)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        for member in annotation:
            if type(member.value) is type(value) and member.value == value:
                return member
        raise _wrong(annotation, value, path)
    if is_attrs_class(annotation):
        return _convert_attrs(annotation, value, path)
    if annotation in ARRAY_ORIGINS or origin in ARRAY_ORIGINS:
        return _convert_array(annotation, origin, value, path)
    if annotation in MAPPING_ORIGINS or origin in MAPPING_ORIGINS:
        return _convert_mapping(annotation, value, path)
    return _convert_scalar(annotation, value, path)


def _convert_scalar(annotation: Any, value: Any, path: str) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is None or annotation is _NONE:
        fits = value is None
    elif annotation is bool:
        fits = isinstance(value, bool)
    elif annotation is int:
        fits = is_number and (isinstance(value, int) or value.is_integer())
        value = int(value) if fits else value
    elif annotation is float:
        fits = is_number
        value = float(value) if fits else value
    else:
        fits = annotation is str and isinstance(value, str)
    if not fits:
        raise _wrong(annotation, value, path)
    return value


def _wrong(annotation: Any, value: Any, path: str) -> _Problems:
    return _Problems([(path, f"expected {_expected(annotation)}, got {_show(value)}")])


def _convert_union(annotation: Any, value: Any, path: str) -> Any:
    options = typing.get_args(annotation)
    if value is None:
        if _NONE in options:
            return None
        raise _Problems([(path, f"must not be null: expected {_expected(annotation)}")])
    failures: list[_Problems] = []
    for option in options:
        if option is _NONE:
            continue
        try:
            return _convert(option, value, path)
        except _Problems as found:
            failures.append(found)
    if len(failures) == 1:
        raise failures[0]  # `X | None`: X's own, more precise, problem
    raise _wrong(annotation, value, path)


def _convert_array(annotation: Any, origin: Any, value: Any, path: str) -> Any:
    if not isinstance(value, list):
        raise _wrong(annotation, value, path)
    args = typing.get_args(annotation)
    item_type = args[0] if args else Any
    items: list[Any] = []
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        try:
            items.append(_convert(item_type, item, f"{path}[{index}]"))
        except _Problems as found:
            problems.extend(found.problems)
    if problems:
        raise _Problems(problems)
    container = ARRAY_ORIGINS[origin or annotation]
    try:
        return container(items)
    except TypeError as exc:  # a set of unhashable items
        raise _Problems([(path, f"cannot be made a {container.__name__}: {exc}")]) from None


def _convert_mapping(annotation: Any, value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise _wrong(annotation, value, path)
    args = typing.get_args(annotation)
    value_type = args[1] if args else Any
    converted: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, item in value.items():
        try:
            converted[key] = _convert(value_type, item, f"{path}[{json.dumps(key)}]")
        except _Problems as found:
            problems.extend(found.problems)
    if problems:
        raise _Problems(problems)
    return converted


def _convert_attrs(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, Mapping):
        raise _wrong(cls, value, path)
    fields = init_fields(cls)
    known = [key for _, key, _ in fields]
    problems = [(path, _unexpected("field", key, known)) for key in value if key not in known]
    kwargs: dict[str, Any] = {}
    for field, key, field_type in fields:
        where = f"{path}.{key}"
        if key not in value:
            if field.default is attrs.NOTHING:
                problems.append((where, f"missing required field ({_expected(field_type)})"))
            continue
        try:
            kwargs[key] = _convert(field_type, value[key], where)
        except _Problems as found:
            problems.extend(found.problems)
    if problems:
        raise _Problems(problems)
    try:
        return cls(**kwargs)
    except Exception as exc:  # the class's own validators have the last word
        raise _Problems([(path, f"{cls.__name__} rejected these values: {exc}")]) from None
