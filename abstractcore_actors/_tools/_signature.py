"""Read a tool function: its parameters, their types and descriptions, its summary.

Each parameter's annotation becomes a JSON schema (the `_schema` engine), its
description comes from the docstring or `Annotated`. A
signature a model cannot be told about is refused here, at definition time,
with a ValidationError naming the parameter and what to write instead.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import attrs

from .._schema import (
    NO_DEFAULT,
    SUPPORTED,
    Field,
    JsonSchema,
    UnsupportedType,
    is_union,
    object_schema,
    parse_docstring,
    strip_annotated,
)
from ..errors import ValidationError
from ._context import ToolContext


@attrs.frozen(kw_only=True)
class Parameter:
    """One argument the model fills in."""

    name: str
    annotation: Any
    required: bool
    description: str = ""


@attrs.frozen(kw_only=True)
class FunctionShape:
    """What a tool function takes: its parameters, schema and description."""

    summary: str
    parameters: tuple[Parameter, ...]
    schema: JsonSchema
    context_parameter: str | None = None
    # a tool described by its JSON schema, not a signature (an MCP server's):
    # its arguments are checked against `schema` and passed on as they are
    by_schema: bool = False


def describe_function(fn: Callable[..., Any], tool_name: str) -> FunctionShape:
    """Read `fn`'s signature, type hints and docstring; raise ValidationError if unusable."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"tool {tool_name}: cannot read its signature ({exc})") from None
    hints = _type_hints(fn, tool_name)
    doc = parse_docstring(inspect.getdoc(fn))
    parameters: list[Parameter] = []
    fields: list[Field] = []
    context_parameter: str | None = None
    for name, param in signature.parameters.items():
        where = f"tool {tool_name}, parameter {name!r}"
        _check_kind(param, where)
        if name not in hints:
            raise ValidationError(
                f"{where} has no type annotation: annotate it (e.g. `{name}: str`, or "
                f"`{name}: Any` to accept any JSON value) so the model knows what to send"
            )
        annotation, annotated_text = strip_annotated(hints[name])
        if _is_context(annotation):
            if context_parameter is not None:
                raise ValidationError(f"{where}: a tool takes at most one ToolContext parameter")
            context_parameter = name
            continue
        required = param.default is inspect.Parameter.empty
        field = Field(
            key=name,
            hint=hints[name],
            required=required,
            default=NO_DEFAULT if required else param.default,
        )
        fields.append(field)
        description = annotated_text or doc.parameters.get(name, "")
        parameters.append(
            Parameter(name=name, annotation=annotation, required=required, description=description)
        )
    try:
        schema = object_schema(
            fields, doc.parameters, label=lambda key: f"tool {tool_name}, parameter {key!r}"
        )
    except UnsupportedType as exc:
        raise ValidationError(f"{exc}; use {SUPPORTED}") from None
    return FunctionShape(
        summary=doc.summary,
        parameters=tuple(parameters),
        schema=schema,
        context_parameter=context_parameter,
    )


def _is_context(annotation: Any) -> bool:
    """`ToolContext`, or `ToolContext | None` (a default lets tests call the tool bare)."""
    if is_union(annotation):
        return set(typing.get_args(annotation)) == {ToolContext, type(None)}
    return annotation is ToolContext


def _type_hints(fn: Callable[..., Any], tool_name: str) -> dict[str, Any]:
    # A callable object's hints live on its __call__; a partial's on its func.
    target: Any = fn
    if isinstance(fn, functools.partial):
        target = fn.func
    elif not (inspect.isfunction(fn) or inspect.ismethod(fn)) and callable(fn):
        target = type(fn).__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception as exc:
        raise ValidationError(
            f"tool {tool_name}: cannot resolve its type hints ({type(exc).__name__}: {exc}); "
            "define the types it uses at module level, where the function can see them"
        ) from None


def _check_kind(param: inspect.Parameter, where: str) -> None:
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        raise ValidationError(
            f"{where}: *{param.name} cannot be described to a model; declare each argument "
            "by name, or take a list (`items: list[str]`)"
        )
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        raise ValidationError(
            f"{where}: **{param.name} cannot be described to a model; declare each argument "
            "by name, or take a dict (`options: dict[str, str]`) or an attrs class"
        )
    if param.kind is inspect.Parameter.POSITIONAL_ONLY:
        raise ValidationError(
            f"{where} is positional-only; tools are called by keyword, so remove the `/`"
        )
