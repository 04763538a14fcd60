"""AbstractCore's names, over this runtime: for code written for AbstractCore
(and its async plan) that wants the actor runtime underneath.

    from abstractcore_actors.compat import create_llm

    llm = create_llm("openai", "gpt-4o-mini")
    print(llm.generate("Hi").content)              # in sync code
    reply = await llm.generate_async("Hi")          # in trio or asyncio code
    async for chunk in llm.stream_async("A story"):
        print(chunk.text, end="")

One object answers both ways ("sync in sync context, async in async
context"): the blocking calls are the sync facade's, and the `_async` ones
await the same runtime (on its own thread) from the caller's loop, trio or
asyncio, with cancellation carried across. A blocking call made inside a
running event loop raises `SyncCalledFromAsync`, naming its `_async` twin.
One path underneath: every call is the runtime's `LLM`, session or tool
runner; nothing here is a second implementation. See docs/migration.md.
"""

from ..events import AppEvent as AppEvent
from ._events import CompatEvents as CompatEvents
from ._llm import CompatLLM as CompatLLM
from ._llm import create_llm as create_llm
from ._llm import create_llm_async as create_llm_async
from ._session import AsyncSession as AsyncSession
from ._session import BasicSession as BasicSession
from ._tools import execute_tool as execute_tool
from ._tools import execute_tool_async as execute_tool_async

__all__ = [
    "AppEvent",
    "AsyncSession",
    "BasicSession",
    "CompatEvents",
    "CompatLLM",
    "create_llm",
    "create_llm_async",
    "execute_tool",
    "execute_tool_async",
]
