"""Statuses compare with the strings the docs show."""

from __future__ import annotations

from abstractcore_actors.patterns._attempts import Status
from abstractcore_actors.providers import BreakerState


def test_statuses_are_their_strings() -> None:
    assert Status.WON == "won"
    assert f"{Status.CANCELLED}" == "cancelled"
    assert {s.value for s in Status} == {str(s) for s in Status}
    assert BreakerState.HALF_OPEN == "half_open"
