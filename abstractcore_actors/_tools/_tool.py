"""`@tool`: a Python function becomes a `ToolDefinition` the model can call.

The definition carries the function, its JSON schema (from type hints and
docstring, see `_schema`), and its timeout. Calling the definition calls the
function, unchanged, so a decorated function stays easy to test.
"""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

import attrs

from ..errors import ValidationError
from ..types import ToolSpec
from ._arguments import check_by_schema, convert_arguments
from ._signature import FunctionShape, describe_function

P = ParamSpec("P")
R = TypeVar("R")

# What OpenAI and Anthropic both accept as a function name.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_timeout(timeout: float | None, where: str) -> None:
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValidationError(f"{where}: timeout must be a number of seconds > 0, or None")
    if math.isnan(timeout):
        raise ValidationError(f"{where}: timeout must not be NaN")


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None)  # noqa: B004 - a callable object's method
    return not inspect.isfunction(fn) and inspect.iscoroutinefunction(call)


@attrs.frozen(kw_only=True, eq=False)
class ToolDefinition(Generic[P, R]):
    """A runnable tool: the function plus what the model is told about it.

    Make one with `@tool` or `ToolDefinition.from_function(fn)`. `timeout`
    (seconds) overrides the runner's default for this tool; None keeps it.
    Calling the definition calls the function directly (no checks, no events).
    """

    function: Callable[P, R]
    name: str
    description: str
    spec: ToolSpec
    timeout: float | None
    is_async: bool
    shape: FunctionShape = attrs.field(repr=False)

    @classmethod
    def from_function(
        cls,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> ToolDefinition[P, R]:
        """Describe `fn` as a tool; raises ValidationError naming what to change.

        `name` defaults to the function's name, `description` to the first
        paragraph of its docstring.
        """
        if not callable(fn):
            raise ValidationError(f"a tool must be a function, not {fn!r}")
        target = fn.func if isinstance(fn, functools.partial) else fn
        tool_name = name if name is not None else getattr(target, "__name__", "")
        if not isinstance(tool_name, str) or not _NAME.match(tool_name):
            raise ValidationError(
                f"tool name {tool_name!r} is not usable: a model needs 1-64 letters, digits, "
                "'_' or '-'; pass name=... (a lambda needs one: tool(lambda: ..., name='now'))"
            )
        check_timeout(timeout, f"tool {tool_name}")
        shape = describe_function(fn, tool_name)
        text = description if description is not None else shape.summary
        return cls(
            function=fn,
            name=tool_name,
            description=text,
            spec=ToolSpec(name=tool_name, description=text, parameters=shape.schema),
            timeout=timeout,
            is_async=_is_async(fn),
            shape=shape,
        )

    @classmethod
    def from_schema(
        cls,
        function: Callable[..., Awaitable[Any]],
        *,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        timeout: float | None = None,
        context_parameter: str | None = None,
    ) -> ToolDefinition[..., Any]:
        """A tool described by a JSON schema instead of a signature (an MCP
        server's tool): `function(**arguments)` is awaited with the model's
        arguments once they fit `parameters`, and with the call's
        `ToolContext` as `context_parameter=` when that is given."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValidationError(
                f"tool name {name!r} is not usable: a model needs 1-64 letters, digits, '_' or '-'"
            )
        check_timeout(timeout, f"tool {name}")
        schema = dict(parameters) if parameters else {"type": "object", "properties": {}}
        shape = FunctionShape(
            summary=description,
            parameters=(),
            schema=schema,
            by_schema=True,
            context_parameter=context_parameter,
        )
        return ToolDefinition(
            function=function,
            name=name,
            description=description,
            spec=ToolSpec(name=name, description=description, parameters=schema),
            timeout=timeout,
            is_async=True,
            shape=shape,
        )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    def convert_arguments(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The model's JSON arguments -> keyword arguments for the function.

        Raises `ArgumentsRejected` with a message for the model. The
        `ToolContext` parameter, if any, is not included: the runner adds it.
        """
        if self.shape.by_schema:
            return check_by_schema(self.name, self.shape.schema, arguments)
        return convert_arguments(self.name, self.shape.parameters, arguments)


@overload
def tool(fn: Callable[P, R], /) -> ToolDefinition[P, R]: ...


@overload
def tool(
    fn: Callable[P, R],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> ToolDefinition[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Callable[[Callable[P, R]], ToolDefinition[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> ToolDefinition[P, R] | Callable[[Callable[P, R]], ToolDefinition[P, R]]:
    """Make a function a tool: `@tool`, `@tool(name=..., description=..., timeout=...)`,
    or `tool(fn, name=...)`.

    The JSON schema comes from the type hints, the description from the
    docstring's first paragraph, each argument's description from its
    `Args:` / NumPy / `:param:` entry. A signature that cannot be described
    raises `ValidationError` here, at definition time.
    """

    def decorate(function: Callable[P, R]) -> ToolDefinition[P, R]:
        return ToolDefinition.from_function(
            function, name=name, description=description, timeout=timeout
        )

    return decorate if fn is None else decorate(fn)


def coerce_tools(tools: Iterable[object]) -> dict[str, ToolDefinition[..., Any]]:
    """Tools as a session takes them -> {name: ToolDefinition}, in the order given.

    Accepts ToolDefinitions and plain functions (described on the spot).
    Raises ValidationError for duplicate names, and for specs without a
    function (a ToolSpec or an OpenAI-style dict): a session runs its tools,
    so it needs the function, not only its description.
    """
    if isinstance(tools, str | bytes | Mapping) or not isinstance(tools, Iterable):
        raise ValidationError(
            f"tools must be a list of @tool functions or plain functions, not {tools!r}"
        )
    found: dict[str, ToolDefinition[..., Any]] = {}
    for item in tools:
        if isinstance(item, ToolDefinition):
            definition: ToolDefinition[..., Any] = item
        elif isinstance(item, ToolSpec | Mapping):
            label = item.name if isinstance(item, ToolSpec) else repr(item)[:80]
            raise ValidationError(
                f"tool {label} is only a description: a session must run its tools, so pass "
                "the function itself (decorated with @tool, or plain). To offer a model a tool "
                "you run yourself, pass the spec to generate(tools=...) instead"
            )
        elif callable(item):
            definition = ToolDefinition.from_function(item)
        else:
            raise ValidationError(f"cannot use {item!r} as a tool: pass a function")
        if definition.name in found:
            raise ValidationError(
                f"two tools are named {definition.name!r}: a model calls tools by name, so "
                "give one another name with @tool(name=...)"
            )
        found[definition.name] = definition
    return found
