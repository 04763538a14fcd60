"""Schemas from signatures and docstrings; bad signatures fail at decoration."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Optional

import attrs
import pytest

from abstractcore_actors.errors import ValidationError
from abstractcore_actors.tools import ToolContext, ToolDefinition, coerce_tools, tool
from abstractcore_actors.types import ToolSpec


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@attrs.frozen
class Point:
    """A point on the map.

    Attributes:
        lat: Latitude in degrees.
    """

    lat: float
    lon: float = attrs.field(metadata={"description": "Longitude in degrees."})
    label: str | None = None
    tags: list[str] = attrs.field(factory=list)


@attrs.frozen
class Route:
    start: Point
    stops: list[Point]
    _secret: str = "x"  # init name `secret`


@attrs.define
class Node:
    children: list[Node]


def schema(fn: Any) -> dict[str, Any]:
    return dict(tool(fn).spec.parameters)


def test_primitives_and_required() -> None:
    def f(s: str, i: int, x: float, b: bool, n: None, a: Any, d: int = 3) -> str:
        return s

    result = schema(f)
    assert result["type"] == "object"
    assert result["additionalProperties"] is False
    props = result["properties"]
    assert props["s"] == {"type": "string"}
    assert props["i"] == {"type": "integer"}
    assert props["x"] == {"type": "number"}
    assert props["b"] == {"type": "boolean"}
    assert props["n"] == {"type": "null"}
    assert props["a"] == {}
    assert props["d"] == {"type": "integer", "default": 3}
    assert result["required"] == ["s", "i", "x", "b", "n", "a"]


def test_optional_is_nullable_and_required_only_without_default() -> None:
    def f(a: str | None, b: Optional[int] = None, c: Point | None = None) -> None:  # noqa: UP045
        pass

    result = schema(f)
    assert result["properties"]["a"] == {"type": ["string", "null"]}
    assert result["properties"]["b"] == {"type": ["integer", "null"], "default": None}
    c = result["properties"]["c"]
    assert c["type"] == ["object", "null"]
    assert c["properties"]["lat"] == {"type": "number", "description": "Latitude in degrees."}
    assert result["required"] == ["a"]


def test_union_is_any_of() -> None:
    def f(v: int | str, w: list[int] | Mapping[str, int] | None) -> None:
        pass

    props = schema(f)["properties"]
    assert props["v"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["w"]["anyOf"][-1] == {"type": "null"}
    assert props["w"]["anyOf"][0]["anyOf"][0] == {"type": "array", "items": {"type": "integer"}}


def test_literal_and_enums() -> None:
    def f(
        mode: Literal["fast", "slow"],
        n: Literal[1, 2, 3],
        color: Color = Color.RED,
        level: Level = Level.LOW,
        maybe: Literal["a"] | None = None,
    ) -> None:
        pass

    props = schema(f)["properties"]
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"]}
    assert props["n"] == {"type": "integer", "enum": [1, 2, 3]}
    assert props["color"] == {"type": "string", "enum": ["red", "green"], "default": "red"}
    assert props["level"] == {"type": "integer", "enum": [1, 2], "default": 1}
    assert props["maybe"] == {"type": ["string", "null"], "enum": ["a", None], "default": None}


def test_arrays_and_mappings() -> None:
    def f(
        a: list[str],
        b: tuple[int, ...],
        c: Sequence[float],
        d: set[str],
        e: frozenset[int],
        g: dict[str, int],
        h: list[Any],
        i: dict[str, Any],
        j: list,  # type: ignore[type-arg]
    ) -> None:
        pass

    props = schema(f)["properties"]
    assert props["a"] == {"type": "array", "items": {"type": "string"}}
    assert props["b"] == {"type": "array", "items": {"type": "integer"}}
    assert props["c"] == {"type": "array", "items": {"type": "number"}}
    assert props["d"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    assert props["e"]["uniqueItems"] is True
    assert props["g"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["h"] == {"type": "array"}
    assert props["i"] == {"type": "object"}
    assert props["j"] == {"type": "array"}


def test_nested_attrs_classes() -> None:
    def f(route: Route) -> None:
        pass

    route = schema(f)["properties"]["route"]
    assert route["type"] == "object"
    assert route["additionalProperties"] is False
    assert route["required"] == ["start", "stops"]
    # A private attrs field is set by its init name.
    assert route["properties"]["secret"] == {"type": "string", "default": "x"}
    point = route["properties"]["stops"]["items"]
    assert point["description"] == "A point on the map."
    assert point["required"] == ["lat", "lon"]
    assert point["properties"]["lon"]["description"] == "Longitude in degrees."
    assert point["properties"]["label"] == {"type": ["string", "null"], "default": None}
    # A factory default is not required, and has no JSON default to show.
    assert point["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert route["properties"]["start"] == point


def test_annotated_description_wins() -> None:
    def f(city: Annotated[str, "The city, in English."]) -> None:
        """Weather.

        Args:
            city: Overridden by Annotated.
        """

    assert schema(f)["properties"]["city"] == {
        "type": "string",
        "description": "The city, in English.",
    }


def test_google_docstring() -> None:
    @tool
    def weather(city: str, days: int = 1) -> str:
        """Forecast for a city.

        Uses the national service;
        cached for an hour.

        Args:
            city (str): The city name,
                in English.
            days: How many days ahead.

        Returns:
            The forecast.
        """
        return city

    assert weather.description == "Forecast for a city."
    assert weather.spec == ToolSpec(
        name="weather", description="Forecast for a city.", parameters=weather.spec.parameters
    )
    props = weather.spec.parameters["properties"]
    assert props["city"]["description"] == "The city name, in English."
    assert props["days"]["description"] == "How many days ahead."


def test_numpy_docstring() -> None:
    @tool
    def weather(city: str, days: int = 1) -> str:
        """Forecast for a city,
        from the service.

        Parameters
        ----------
        city : str
            The city name,
            in English.
        days : int, optional
            How many days ahead.

        Returns
        -------
        str
            Not a parameter.
        """
        return city

    assert weather.description == "Forecast for a city, from the service."
    props = weather.spec.parameters["properties"]
    assert props["city"]["description"] == "The city name, in English."
    assert props["days"]["description"] == "How many days ahead."
    assert "str" not in props


def test_sphinx_docstring() -> None:
    @tool
    def weather(city: str, days: int = 1) -> str:
        """Forecast for a city.

        :param city: The city name,
            in English.
        :param int days: How many days ahead.
        :returns: the forecast.
        """
        return city

    props = weather.spec.parameters["properties"]
    assert weather.description == "Forecast for a city."
    assert props["city"]["description"] == "The city name, in English."
    assert props["days"]["description"] == "How many days ahead."


def test_decorator_options_and_pass_through() -> None:
    @tool(name="add_numbers", description="Adds.", timeout=2.5)
    def add(a: int, b: int) -> int:
        return a + b

    assert isinstance(add, ToolDefinition)
    assert add.name == "add_numbers" == add.spec.name
    assert add.description == "Adds." == add.spec.description
    assert add.timeout == 2.5
    assert add.is_async is False
    assert add(2, 3) == 5  # still the function


async def test_async_tools_are_detected_and_callable() -> None:
    @tool
    async def double(x: int) -> int:
        return 2 * x

    class Counter:
        async def __call__(self, step: int) -> int:
            return step

    assert double.is_async
    assert await double(4) == 8
    counter = tool(Counter(), name="counter")
    assert counter.is_async
    assert counter.spec.parameters["properties"] == {"step": {"type": "integer"}}


def test_partial_and_bound_method() -> None:
    def scale(x: float, factor: float) -> float:
        return x * factor

    class Box:
        def size(self, unit: str) -> str:
            return unit

    triple = tool(functools.partial(scale, factor=3.0), name="triple")
    assert triple.spec.parameters["required"] == ["x"]
    assert triple(2.0) == 6.0
    assert tool(Box().size).spec.parameters["required"] == ["unit"]


def test_tool_context_is_not_in_the_schema() -> None:
    @tool
    async def slow(n: int, ctx: ToolContext) -> int:
        return n

    assert slow.shape.context_parameter == "ctx"
    assert list(slow.spec.parameters["properties"]) == ["n"]
    assert slow.spec.parameters["required"] == ["n"]


@pytest.mark.parametrize(
    ("define", "words"),
    [
        (lambda: tool(lambda *items: None, name="x"), ["*items", "list[str]"]),
        (lambda: tool(lambda **opts: None, name="x"), ["**opts", "dict[str, str]"]),
        (lambda: tool(lambda city: None, name="x"), ["'city'", "annotate"]),
        (lambda: tool(lambda: None), ["'<lambda>'", "name="]),
        (lambda: tool(lambda: None, name="has space"), ["'has space'"]),
        (lambda: tool(lambda: None, name="x", timeout=0), ["timeout"]),
        (lambda: tool(lambda: None, name="x", timeout=True), ["timeout"]),
    ],
)
def test_bad_definitions(define: Any, words: list[str]) -> None:
    with pytest.raises(ValidationError) as info:
        define()
    for word in words:
        assert word in str(info.value)


def _bytes_arg(data: bytes) -> None:
    pass


def _pair_arg(pair: tuple[int, str]) -> None:
    pass


def _int_keys(table: dict[int, str]) -> None:
    pass


def _recursive(node: Node) -> None:
    pass


def _two_contexts(a: ToolContext, b: ToolContext) -> None:
    pass


def _positional(a: int, /) -> None:
    pass


class Opaque:
    pass


@attrs.frozen
class HasOpaque:
    thing: Opaque


def _nested_bad(box: HasOpaque) -> None:
    pass


def _unresolvable(x: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
    pass


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (_bytes_arg, ["parameter 'data'", "bytes", "attrs class"]),
        (_pair_arg, ["parameter 'pair'", "tuple[T, ...]"]),
        (_int_keys, ["parameter 'table'", "dict[str, T]"]),
        (_recursive, ["parameter 'node'", "Node refers to itself"]),
        (_two_contexts, ["at most one ToolContext"]),
        (_positional, ["positional-only"]),
        (_nested_bad, ["HasOpaque.thing", "Opaque"]),
        (_unresolvable, ["NotDefinedAnywhere", "module level"]),
    ],
)
def test_unsupported_signatures_name_the_parameter(fn: Any, words: list[str]) -> None:
    with pytest.raises(ValidationError) as info:
        tool(fn)
    for word in words:
        assert word in str(info.value)


def test_coerce_tools() -> None:
    @tool
    def a(x: int) -> int:
        return x

    def b() -> str:
        return "b"

    tools = coerce_tools([a, b, tool(lambda: "now", name="now")])
    assert list(tools) == ["a", "b", "now"]
    assert tools["a"] is a
    assert tools["b"].function is b

    with pytest.raises(ValidationError, match="two tools are named 'a'"):
        coerce_tools([a, tool(b, name="a")])
    with pytest.raises(ValidationError, match="only a description"):
        coerce_tools([ToolSpec(name="x")])
    with pytest.raises(ValidationError, match="only a description"):
        coerce_tools([{"type": "function", "function": {"name": "x"}}])
    with pytest.raises(ValidationError, match="list of"):
        coerce_tools(a.spec.parameters)
    with pytest.raises(ValidationError, match="cannot use 3"):
        coerce_tools([3])


def test_summary_line_ending_in_a_colon_is_not_a_section() -> None:
    @tool
    def look(city: str) -> str:
        """Get the weather for:
        one city at a time.

        Returns:
            The weather.
        """
        return city

    assert look.description == "Get the weather for: one city at a time."


def test_optional_tool_context_lets_the_tool_be_called_bare() -> None:
    @tool
    def report(n: int, ctx: ToolContext | None = None) -> int:
        if ctx is not None:
            ctx.progress("working")
        return n

    assert report.shape.context_parameter == "ctx"
    assert list(report.spec.parameters["properties"]) == ["n"]
    assert report(4) == 4
