from __future__ import annotations

from abstractcore_actors import LLM, Runtime
from abstractcore_actors.testing import FakeToolCall, Reply
from abstractcore_actors.tools import tool

from .conftest import Model


async def test_generate_and_history(rt: Runtime, llm: LLM) -> None:
    s = rt.session(llm, system_prompt="be brief")
    reply = await s.generate("hello")
    assert reply.content == "echo: hello"
    reply = await s.generate("again")
    assert [m.role for m in s.history] == ["user", "assistant", "user", "assistant"]


async def test_tool_loop(rt: Runtime, llm: LLM, model: Model) -> None:
    @tool
    async def weather(city: str) -> str:
        """Weather."""
        return f"sunny in {city}"

    def plan(messages):  # type: ignore[no-untyped-def]
        if messages[-1]["role"] == "tool":
            return Reply(text="done: " + messages[-1]["content"])
        return Reply(tool_calls=[FakeToolCall(name="weather", arguments={"city": "Paris"})])

    model.plan = plan
    s = rt.session(llm, tools=[weather])
    reply = await s.generate("weather?")
    assert reply.content == "done: sunny in Paris"
    assert [m.role for m in s.history] == ["user", "assistant", "tool", "assistant"]
