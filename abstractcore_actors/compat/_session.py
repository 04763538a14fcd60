"""Sessions under AbstractCore's names: `BasicSession` (blocking) and
`AsyncSession` (trio or asyncio), both the runtime's session actor."""

from __future__ import annotations

from typing import Any, final

from ..sessions import Session
from ..sync import SyncSession
from ..sync._cross_loop import RemoteStream, call_async
from ..types import GenerateResponse, Message
from ._llm import CompatLLM


def BasicSession(
    provider: CompatLLM, system_prompt: str | None = None, tools: Any = (), **options: Any
) -> SyncSession:
    """AbstractCore's sync session (a function making the sync facade's
    `SyncSession`): `generate`, `stream`, `inject`, `set_tools`, `save` /
    `load`, ... `provider` is the LLM, as AbstractCore names it."""
    return provider.runtime.session(provider._sync, system_prompt, tools, **options)


@final
class AsyncSession:
    """A conversation, awaited from trio or asyncio: `await s.generate(prompt)`,
    `async for chunk in s.stream(prompt)`, and intervention while a turn runs
    (`inject`, `revise`, `cancel`, `set_tools`, `set_system_prompt`). The
    session actor is made at the first call; `options` are `rt.session`'s."""

    def __init__(
        self, llm: CompatLLM, system_prompt: str | None = None, tools: Any = (), **options: Any
    ) -> None:
        self._llm = llm
        self._args = (system_prompt, tools, options)
        self._session: Session | None = None

    def __repr__(self) -> str:
        return f"<AsyncSession {self._session.id if self._session else '(not started)'}>"

    def _started(self) -> Session:
        """The session actor, made at the first call. Runs on the runtime's
        thread only (every call below hands it there), so it is made once."""
        if self._session is None:
            system_prompt, tools, options = self._args
            runtime = self._llm.runtime._runtime
            assert runtime is not None
            self._session = runtime.session(self._llm.llm, system_prompt, tools, **options)
        return self._session

    @property
    def history(self) -> tuple[Message, ...]:
        return () if self._session is None else self._session.history

    async def generate(self, prompt: Any, **options: Any) -> GenerateResponse:
        return await call_async(
            self._llm.runtime, lambda: self._started().generate(prompt, **options)
        )

    def stream(self, prompt: Any, **options: Any) -> RemoteStream:
        """The turn's chunks (`async for`, or `async with` it); leaving early
        cancels the turn (its partial answer is kept)."""
        return RemoteStream(self._llm.runtime, lambda: self._started().stream(prompt, **options))

    async def _call(self, name: str, *args: Any) -> Any:
        return await call_async(self._llm.runtime, lambda: getattr(self._started(), name)(*args))

    async def inject(self, context: Any) -> None:
        await self._call("inject", context)

    async def revise(self, prompt: Any) -> bool:
        revised: bool = await self._call("revise", prompt)
        return revised

    async def cancel(self) -> bool:
        cancelled: bool = await self._call("cancel")
        return cancelled

    async def set_tools(self, tools: Any) -> None:
        await self._call("set_tools", tools)

    async def set_system_prompt(self, prompt: str | None) -> None:
        await self._call("set_system_prompt", prompt)

    async def aclose(self) -> None:
        if self._session is not None:
            await call_async(self._llm.runtime, self._session.close)
