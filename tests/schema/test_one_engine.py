"""Tools and structured output share one schema engine: what one accepts, the
other does, described and converted the same way."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import attrs
import pytest

from abstractcore_actors.structured import response_model
from abstractcore_actors.tools import ArgumentsRejected, tool


@dataclasses.dataclass
class Stop:
    """A place on the route.

    Attributes:
        city: where to stop
    """

    city: str
    nights: int = 1


@attrs.frozen
class Route:
    stops: list[Stop]
    note: Annotated[str | None, "anything the traveller adds"] = None


@tool
def plan(route: Route) -> str:
    """Plan a route."""
    return ",".join(f"{s.city}x{s.nights}" for s in route.stops)


def test_a_dataclass_is_a_tool_argument_type_and_an_attrs_class_a_response_model() -> None:
    tool_schema = plan.spec.parameters["properties"]["route"]
    answer_schema = response_model(Route).schema
    # the same description of the same type, but for strict mode's lack of defaults
    stops = answer_schema["properties"]["stops"]
    assert stops["items"]["properties"]["nights"] == {"type": "integer"}  # no default
    assert tool_schema["properties"]["stops"]["items"]["properties"]["nights"] == {
        "type": "integer",
        "default": 1,
    }
    stop = tool_schema["properties"]["stops"]["items"]
    assert stop["description"] == "A place on the route."
    assert stop["properties"]["city"] == {"type": "string", "description": "where to stop"}
    assert stop["required"] == ["city"]
    note = answer_schema["properties"]["note"]
    assert note == {"type": ["string", "null"], "description": "anything the traveller adds"}


def test_the_same_conversion_and_the_same_problems() -> None:
    value = {"stops": [{"city": "Lyon", "nights": 2}, {"city": "Nice"}]}
    route = Route(stops=[Stop("Lyon", 2), Stop("Nice")])
    assert response_model(Route).parse(value) == route
    assert plan.convert_arguments({"route": value}) == {"route": route}
    bad = {"stops": [{"city": 5, "nigths": 1}]}
    with pytest.raises(ArgumentsRejected) as caught:
        plan.convert_arguments({"route": bad})
    message = str(caught.value)
    assert "route.stops[0].city: expected a string, got 5 (integer)" in message
    assert "did you mean 'nights'?" in message
