"""The ToolRegistry actor: set/add/remove/get through a real actor; snapshots stay put."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from abstractcore_actors._tools import (
    AddTools,
    GetTools,
    RemoveTools,
    SetTools,
    ToolRegistry,
    ToolSet,
    tool,
)
from abstractcore_actors.errors import ValidationError
from abstractcore_actors.kernel import ActorRef, ActorSystem, UnhandledMessage, open_actor_system
from abstractcore_actors.types import ToolSpec
from tests.leaks import our_tasks


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
async def echo(text: str) -> str:
    """Say it back."""
    return text


def clock_now() -> str:
    """The time."""
    return "noon"


@pytest.fixture
async def system() -> AsyncIterator[ActorSystem]:
    async with open_actor_system() as actor_system:
        yield actor_system
    assert our_tasks() == []


@pytest.fixture
async def registry(system: ActorSystem) -> ActorRef:
    return await system.root.spawn(lambda: ToolRegistry([add]), name="tools")


async def get(registry: ActorRef) -> ToolSet:
    snapshot = await registry.ask(GetTools(), timeout=1)
    assert isinstance(snapshot, ToolSet)
    return snapshot


async def test_initial_tools_and_specs(registry: ActorRef) -> None:
    snapshot = await get(registry)
    assert snapshot.names == ("add",)
    assert snapshot.specs == (add.spec,)
    assert isinstance(snapshot.specs[0], ToolSpec)
    assert snapshot.tools["add"] is add
    assert "add" in snapshot and len(snapshot) == 1


async def test_set_add_remove(registry: ActorRef) -> None:
    after_set = await registry.ask(SetTools(tools=[echo, clock_now]))
    assert after_set.names == ("echo", "clock_now")
    assert after_set.tools["clock_now"].description == "The time."
    after_add = await registry.ask(AddTools(tools=[add]))
    assert after_add.names == ("echo", "clock_now", "add")
    after_remove = await registry.ask(RemoveTools(names=["echo", "add"]))
    assert after_remove.names == ("clock_now",)
    assert (await get(registry)).names == ("clock_now",)
    after_single = await registry.ask(RemoveTools(names="clock_now"))
    assert after_single.names == ()


async def test_snapshots_are_immutable_and_kept(registry: ActorRef) -> None:
    before = await get(registry)
    await registry.ask(AddTools(tools=[echo]))
    await registry.ask(RemoveTools(names=["add"]))
    # The turn that took `before` still sees what it saw.
    assert before.names == ("add",)
    assert (await get(registry)).names == ("echo",)
    with pytest.raises(TypeError):
        before.tools["echo"] = echo  # type: ignore[index]
    with pytest.raises(AttributeError):
        before.tools = {}  # type: ignore[misc]


async def test_unknown_name_is_a_reply_error_and_changes_nothing(registry: ActorRef) -> None:
    with pytest.raises(
        ValidationError, match=r"unknown tool\(s\) 'nope'; the available tools are: add"
    ):
        await registry.ask(RemoveTools(names=["add", "nope"]))
    assert (await get(registry)).names == ("add",)  # all or nothing
    assert registry.restarts == 0  # a reply error, not a crash


async def test_adding_a_present_name(registry: ActorRef) -> None:
    other_add = tool(lambda: 0, name="add")
    with pytest.raises(ValidationError, match="already available: add"):
        await registry.ask(AddTools(tools=[other_add]))
    assert (await get(registry)).tools["add"] is add
    replaced = await registry.ask(AddTools(tools=[other_add], replace=True))
    assert replaced.tools["add"] is other_add


def test_bad_tools_fail_where_the_message_is_made() -> None:
    with pytest.raises(ValidationError, match="only a description"):
        SetTools(tools=[ToolSpec(name="x")])
    with pytest.raises(ValidationError, match="two tools are named"):
        AddTools(tools=[add, add])
    with pytest.raises(ValidationError, match="tool names"):
        RemoveTools(names=[add])  # type: ignore[list-item]


async def test_unknown_message(registry: ActorRef) -> None:
    with pytest.raises(UnhandledMessage):
        await registry.ask("what tools?")


async def test_spawn_from_a_checked_toolset(system: ActorSystem) -> None:
    initial = ToolSet(tools=[add, echo])  # a bad tool would raise here, in our hands
    ref = await system.root.spawn(lambda: ToolRegistry(initial))
    snapshot = await get(ref)
    assert snapshot is initial
    assert snapshot.specs == (add.spec, echo.spec)
