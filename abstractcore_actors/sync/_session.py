"""`SyncSession`: the blocking twin of a session handle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from os import PathLike
from typing import TYPE_CHECKING, Any, TypeVar, final, overload

from .._structured import StructuredResult
from ..sessions import Entry, Session
from ..types import Chunk, GenerateResponse, Message
from ._bridge import iterate as _iterate
from ._bridge import refuse_inside_event_loop as _refuse_inside_event_loop

if TYPE_CHECKING:
    from . import SyncRuntime

T = TypeVar("T")


@final
class SyncSession:
    """Blocking twin of `Session` (made by `SyncRuntime.session`). Intervention
    calls (inject, cancel, revise, set_tools) work from another thread while
    one iterates a turn's `stream`."""

    def __init__(self, session: Session, runtime: SyncRuntime) -> None:
        self._session = session
        self._runtime = runtime

    def __repr__(self) -> str:
        return f"<SyncSession {self._session.id}>"

    @property
    def id(self) -> str:
        return self._session.id

    @property
    def history(self) -> tuple[Message, ...]:
        return self._session.history

    @property
    def entries(self) -> tuple[Entry, ...]:
        return self._session.entries

    def _call(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        _refuse_inside_event_loop(f"SyncSession.{name}(...)", f"`await session.{name}(...)`")
        return self._runtime.run(fn)

    @overload
    def generate(
        self, prompt: Any, *, response_model: None = None, **options: Any
    ) -> GenerateResponse: ...

    @overload
    def generate(
        self, prompt: Any, *, response_model: Any, **options: Any
    ) -> StructuredResult[Any]: ...

    def generate(
        self, prompt: Any, *, response_model: Any = None, **options: Any
    ) -> GenerateResponse | StructuredResult[Any]:
        """`Session.generate`, blocking; with `response_model=M` it returns the
        turn's `StructuredResult` (see docs/structured.md)."""
        return self._call(
            "generate",
            lambda: self._session.generate(prompt, response_model=response_model, **options),
        )

    def stream(self, prompt: Any, **options: Any) -> Iterator[Chunk]:
        """A turn's chunks; stopping early cancels the turn (partial kept)."""
        _refuse_inside_event_loop(
            "SyncSession.stream(...)", "`async with session.stream(...) as turn`"
        )
        return _iterate(self._runtime, lambda: self._session.stream(prompt, **options))

    def inject(self, context: Any) -> None:
        self._call("inject", lambda: self._session.inject(context))

    def revise(self, prompt: Any) -> bool:
        return self._call("revise", lambda: self._session.revise(prompt))

    def cancel(self) -> bool:
        return self._call("cancel", self._session.cancel)

    def set_tools(self, tools: Any) -> None:
        self._call("set_tools", lambda: self._session.set_tools(tools))

    def add_tool(self, *tools: object, replace: bool = False) -> None:
        self._call("add_tool", lambda: self._session.add_tool(*tools, replace=replace))

    def remove_tool(self, *names: str) -> None:
        self._call("remove_tool", lambda: self._session.remove_tool(*names))

    def set_system_prompt(self, prompt: str | None) -> None:
        self._call("set_system_prompt", lambda: self._session.set_system_prompt(prompt))

    def clear(self) -> None:
        self._call("clear", self._session.clear)

    def save(self, path: str | PathLike[str]) -> None:
        self._call("save", lambda: self._session.save(path))

    def load(self, path: str | PathLike[str]) -> None:
        self._call("load", lambda: self._session.load(path))

    def close(self) -> None:
        self._call("close", self._session.close)
