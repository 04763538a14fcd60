"""The model's arguments: strict checks, messages for the model, values built."""

from __future__ import annotations

import enum
from typing import Any, Literal

import attrs
import pytest

from abstractcore_actors.tools import ArgumentsRejected, tool


class Units(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


def _positive(instance: Any, attribute: Any, value: int) -> None:
    if value < 1:
        raise ValueError("nights must be at least 1")


@attrs.frozen
class Stop:
    city: str
    nights: int = attrs.field(default=1, validator=_positive)


@attrs.frozen
class Trip:
    stops: list[Stop]
    units: Units = Units.C


@tool
def plan(
    trip: Trip,
    budget: float,
    mode: Literal["car", "train"] = "car",
    note: str | None = None,
    tags: set[str] = frozenset(),  # type: ignore[assignment]
    extra: dict[str, int] | None = None,
    raw: Any = None,
    flag: bool = False,
    count: int = 0,
    days: tuple[int, ...] = (),
) -> str:
    return "ok"


def convert(**arguments: Any) -> dict[str, Any]:
    return plan.convert_arguments(arguments)


GOOD_TRIP = {"stops": [{"city": "Paris"}, {"city": "Lyon", "nights": 2}]}


def test_valid_arguments_are_converted() -> None:
    values = convert(
        trip={**GOOD_TRIP, "units": "fahrenheit"},
        budget=100,
        mode="train",
        tags=["a", "b", "a"],
        extra={"x": 1},
        raw={"any": ["thing"]},
        flag=True,
        count=3.0,
        days=[1, 2],
    )
    assert values["trip"] == Trip(
        stops=[Stop(city="Paris"), Stop(city="Lyon", nights=2)], units=Units.F
    )
    assert isinstance(values["trip"].stops[0], Stop)
    assert values["budget"] == 100.0 and isinstance(values["budget"], float)
    assert values["mode"] == "train"
    assert values["tags"] == {"a", "b"}
    assert values["extra"] == {"x": 1}
    assert values["raw"] == {"any": ["thing"]}
    assert values["flag"] is True
    assert values["count"] == 3 and isinstance(values["count"], int)
    assert values["days"] == (1, 2)
    # Defaults are left to the function: nothing invented for missing optionals.
    assert "note" not in values


def test_null_where_optional() -> None:
    values = convert(trip=GOOD_TRIP, budget=1.5, note=None, extra=None)
    assert values["note"] is None and values["extra"] is None


def rejected(**arguments: Any) -> str:
    with pytest.raises(ArgumentsRejected) as info:
        convert(**arguments)
    message = str(info.value)
    assert message.startswith("invalid arguments for tool plan: ")
    assert message.endswith("call plan again.")
    return message


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"budget": 1}, "trip: missing required argument (an object (Trip))"),
        ({"trip": GOOD_TRIP}, "budget: missing required argument (a number)"),
        (
            {"trip": GOOD_TRIP, "budget": 1, "bugdet": 2},
            "bugdet: unexpected argument 'bugdet' (did you mean 'budget'?)",
        ),
        ({"trip": GOOD_TRIP, "budget": "3"}, 'budget: expected a number, got "3" (string)'),
        ({"trip": GOOD_TRIP, "budget": True}, "budget: expected a number, got true (boolean)"),
        ({"trip": GOOD_TRIP, "budget": 1, "count": True}, "count: expected an integer, got true"),
        ({"trip": GOOD_TRIP, "budget": 1, "count": 2.5}, "count: expected an integer, got 2.5"),
        ({"trip": GOOD_TRIP, "budget": 1, "count": "3"}, 'count: expected an integer, got "3"'),
        ({"trip": GOOD_TRIP, "budget": 1, "flag": 1}, "flag: expected true or false, got 1"),
        (
            {"trip": GOOD_TRIP, "budget": 1, "mode": "plane"},
            'mode: expected one of "car", "train", got "plane" (string)',
        ),
        ({"trip": GOOD_TRIP, "budget": None}, "budget: expected a number, got null (null)"),
        ({"trip": GOOD_TRIP, "budget": 1, "note": 5}, "note: expected a string, got 5 (integer)"),
        ({"trip": GOOD_TRIP, "budget": 1, "tags": "a"}, 'tags: expected an array, got "a"'),
        ({"trip": GOOD_TRIP, "budget": 1, "days": [1, "2"]}, "days[1]: expected an integer"),
        ({"trip": GOOD_TRIP, "budget": 1, "extra": {"k": "v"}}, 'extra["k"]: expected an integer'),
        ({"trip": [], "budget": 1}, "trip: expected an object (Trip), got [] (array)"),
        (
            {"trip": {"stops": [{"city": "A"}, {"city": "B"}, {"nights": 2}]}, "budget": 1},
            "trip.stops[2].city: missing required field (a string)",
        ),
        (
            {"trip": {"stops": [{"city": 7}]}, "budget": 1},
            "trip.stops[0].city: expected a string, got 7 (integer)",
        ),
        (
            {"trip": {"stops": [{"city": "A", "nites": 2}]}, "budget": 1},
            "trip.stops[0]: unexpected field 'nites' (did you mean 'nights'?); "
            "the fields are: city, nights",
        ),
        (
            {"trip": {"stops": [], "units": "kelvin"}, "budget": 1},
            'trip.units: expected one of "celsius", "fahrenheit", got "kelvin"',
        ),
        (
            {"trip": {"stops": [{"city": "A", "nights": 0}]}, "budget": 1},
            "trip.stops[0]: Stop rejected these values: nights must be at least 1",
        ),
    ],
)
def test_each_problem_names_path_and_problem(arguments: dict[str, Any], expected: str) -> None:
    assert expected in rejected(**arguments)


def test_every_problem_is_reported_at_once() -> None:
    message = rejected(budget="x", count="y", mode=3)
    assert "trip: missing required argument" in message
    assert "budget: expected a number" in message
    assert "count: expected an integer" in message
    assert "mode: expected one of" in message


def test_long_lists_of_problems_are_capped() -> None:
    message = rejected(trip={"stops": [{"city": i} for i in range(20)]}, budget=1)
    assert "trip.stops[7].city" in message
    assert "trip.stops[8].city" not in message
    assert "and 12 more problem(s)" in message


def test_union_reports_all_options() -> None:
    @tool
    def f(v: int | str) -> None:
        pass

    with pytest.raises(ArgumentsRejected, match=r"v: expected an integer or a string, got \[\]"):
        f.convert_arguments({"v": []})
    with pytest.raises(ArgumentsRejected, match="v: must not be null"):
        f.convert_arguments({"v": None})
    assert f.convert_arguments({"v": "x"}) == {"v": "x"}


def test_rejection_is_a_validation_error() -> None:
    from abstractcore_actors.errors import ValidationError

    with pytest.raises(ValidationError, match="invalid arguments for tool plan"):
        convert(budget=1)
