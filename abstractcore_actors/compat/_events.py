"""AbstractCore's event calls on the runtime's bus: `on` / `on_async` /
`emit` / `emit_async`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, final

from ..events import AppEvent, Event, EventBus
from ..sync import SyncRuntime
from ..sync._bridge import refuse_inside_event_loop
from ..sync._cross_loop import RemoteStream, call_async


def _matches(event_type: str) -> Callable[[Event], bool]:
    """A type name ("generation.completed", "*"), or an `AppEvent`'s name."""

    def matches(event: Event) -> bool:
        if event_type == "*" or event.type == event_type:
            return True
        return isinstance(event, AppEvent) and event.name == event_type

    return matches


@final
class CompatEvents:
    """The event bus of a `CompatLLM`'s runtime."""

    def __init__(self, runtime: SyncRuntime, bus: EventBus) -> None:
        self._runtime = runtime
        self.bus = bus

    def on(self, event_type: str, handler: Callable[[Event], Any]) -> Callable[[], None]:
        """Call `handler(event)` for every matching event, on the runtime's
        thread (a sync function, or a trio one); returns `off()`."""
        refuse_inside_event_loop("events.on(...)", "`await events.on_async(...)` in a task")
        return self._runtime.run(self._on, event_type, handler)

    async def _on(self, event_type: str, handler: Callable[[Event], Any]) -> Callable[[], None]:
        return self.bus.on(_matches(event_type), handler)

    async def on_async(
        self, event_type: str, handler: Callable[[Event], Awaitable[Any] | Any]
    ) -> None:
        """Call `handler(event)` — async or not — on the caller's own loop (trio
        or asyncio) for every matching event, until the caller is cancelled:
        run it as a task (`nursery.start_soon(...)`, `asyncio.create_task(...)`)."""
        bus = self.bus
        async with RemoteStream(
            self._runtime, lambda: bus.subscribe(_matches(event_type), lossless=True)
        ) as events:
            async for event in events:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result

    def emit(self, event_type: str | Event, data: Mapping[str, Any] | None = None) -> None:
        """Publish an event: an `Event`, or a name and data (an `AppEvent`)."""
        refuse_inside_event_loop("events.emit(...)", "`await events.emit_async(...)`")
        self._runtime.run(self.bus.emit, _event(event_type, data))

    async def emit_async(
        self, event_type: str | Event, data: Mapping[str, Any] | None = None
    ) -> None:
        await call_async(self._runtime, self.bus.emit, _event(event_type, data))


def _event(event_type: str | Event, data: Mapping[str, Any] | None) -> Event:
    if isinstance(event_type, Event):
        return event_type
    return AppEvent(name=event_type, data=dict(data or {}))
