"""Check the model's arguments against a tool's parameters and build the call's values.

Each argument goes through the schema engine's `convert` (strict, with every
problem's path: see `_schema/_convert.py`), the same one structured output
uses; unknown and missing arguments are found here. The model is told what
is wrong in a message naming the tool, so it can send a corrected call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._schema import Invalid, Validator, convert, expected, unexpected
from ..errors import ValidationError
from ._signature import Parameter

# Enough problems for the model to fix a call in one go, not a wall of text.
_MAX_PROBLEMS = 8


class ArgumentsRejected(ValidationError):
    """The model's arguments do not fit the tool; the message is written for the model."""


def convert_arguments(
    tool_name: str, parameters: Sequence[Parameter], arguments: Mapping[str, Any]
) -> dict[str, Any]:
    """The keyword arguments to call the tool with; raises ArgumentsRejected."""
    problems: list[tuple[str, str]] = []
    values: dict[str, Any] = {}
    known = [p.name for p in parameters]
    for name in arguments:
        if name not in known:
            problems.append((name, unexpected("argument", name, known)))
    for parameter in parameters:
        if parameter.name not in arguments:
            if parameter.required:
                wanted = expected(parameter.annotation)
                problems.append((parameter.name, f"missing required argument ({wanted})"))
            continue
        try:
            values[parameter.name] = convert(
                parameter.annotation, arguments[parameter.name], parameter.name
            )
        except Invalid as found:
            problems.extend(found.problems)
    if problems:
        raise ArgumentsRejected(_message(tool_name, problems))
    return values


def check_by_schema(
    tool_name: str, schema: Mapping[str, Any], arguments: Mapping[str, Any]
) -> dict[str, Any]:
    """The arguments as they are, once they fit the tool's JSON schema;
    raises ArgumentsRejected (the same message as a signature's tool)."""
    problems = Validator(schema).problems(dict(arguments))
    if problems:
        raise ArgumentsRejected(_message(tool_name, problems))
    return dict(arguments)


def _message(tool_name: str, problems: list[tuple[str, str]]) -> str:
    shown = [f"{path}: {problem}" for path, problem in problems[:_MAX_PROBLEMS]]
    more = len(problems) - _MAX_PROBLEMS
    if more > 0:
        shown.append(f"and {more} more problem(s)")
    return (
        f"invalid arguments for tool {tool_name}: {'; '.join(shown)}. "
        f"Fix the arguments to match the tool's schema and call {tool_name} again."
    )
