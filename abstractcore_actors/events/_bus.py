"""The event bus: typed events from providers, tools and sessions, fanned out
to subscribers (each with its own bounded buffer) and to `on(...)` handlers.

Publishing is cheap when nobody listens (an emitter only counts), never
waits for a lossy subscriber, and waits for a lossless one only when that
subscriber asked for backpressure. `on` handlers run one after another in a
supervised dispatcher actor, off the publisher's path: a slow or raising
handler never stalls or breaks the call that emitted.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, final

import attrs
import trio

from .._kernel import ActorContext, Behaviour
from ..errors import ValidationError
from ._subscription import Subscription
from ._types import EVENT_TYPES, ErrorOccurred, Event

if TYPE_CHECKING:
    from .._kernel import ActorSystem

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[object] | object]
EventSelector = type[Event] | str | Iterable[type[Event] | str] | Callable[[Event], bool] | None

_TYPES_BY_NAME = {cls.type: cls for cls in EVENT_TYPES}
_DEFAULT_BUFFER = 1024
_HANDLER_BUFFER = 10_000


def _type_matcher(selector: type[Event] | str) -> Callable[[Event], bool]:
    if isinstance(selector, str):
        if selector in ("*", "all"):
            return lambda event: True
        cls = _TYPES_BY_NAME.get(selector)
        if cls is None:
            # A custom event type named by string: match on its `type`.
            # (Every built-in name is in _TYPES_BY_NAME; custom ones are dotted.)
            if "." not in selector:
                known = ", ".join(sorted(_TYPES_BY_NAME))
                raise ValidationError(
                    f"unknown event type {selector!r}: use an Event class or one of {known}"
                )
            return lambda event: event.type == selector
        selector = cls
    if isinstance(selector, type) and issubclass(selector, Event):
        kind = selector
        return lambda event: isinstance(event, kind)
    raise ValidationError(
        f"cannot select events by {selector!r}: pass an Event subclass, a type name such as "
        '"generation.chunk", "*", a list of those, or a predicate function'
    )


def make_filter(
    selector: EventSelector,
    *,
    request_id: str | None = None,
    session_id: str | None = None,
) -> Callable[[Event], bool]:
    """Turn what a user passed to `subscribe`/`on` into one predicate."""
    match selector:
        case None:
            base: Callable[[Event], bool] = lambda event: True  # noqa: E731
        case type() | str():
            base = _type_matcher(selector)
        case _ if callable(selector):
            base = selector
        case _:
            matchers = [_type_matcher(s) for s in selector]
            base = lambda event: any(m(event) for m in matchers)  # noqa: E731
    if request_id is None and session_id is None:
        return base
    return lambda event: (
        (request_id is None or event.request_id == request_id)
        and (session_id is None or event.session_id == session_id)
        and base(event)
    )


@final
class Emitter:
    """Publishes the events of one request, numbering them (`seq` 1, 2, 3, …)."""

    __slots__ = ("_bus", "_seq", "model", "provider", "request_id", "session_id")

    def __init__(
        self, bus: EventBus, request_id: str, session_id: str | None, provider: str, model: str
    ) -> None:
        self._bus = bus
        self.request_id = request_id
        self.session_id = session_id
        self.provider = provider
        self.model = model
        self._seq = 0

    def for_request(self, request_id: str) -> Emitter:
        """An emitter for another request of the same session, provider and model."""
        return Emitter(self._bus, request_id, self.session_id, self.provider, self.model)

    @property
    def listening(self) -> bool:
        """Whether anyone would receive an event now (skip building costly fields if not)."""
        return bool(self._bus.subscriptions)

    def _make(self, kind: type[E], fields: dict[str, Any]) -> E:
        return kind(
            request_id=self.request_id,
            session_id=self.session_id,
            provider=self.provider,
            model=self.model,
            timestamp=time.time(),
            seq=self._seq,
            **fields,
        )

    async def emit(self, kind: type[Event], **fields: Any) -> None:
        """Publish one event of this request (waits only for lossless subscribers)."""
        self._seq += 1
        if self._bus.subscriptions:
            await self._bus.emit(self._make(kind, fields))

    def emit_nowait(self, kind: type[Event], **fields: Any) -> None:
        """Publish without waiting (for cancel paths): lossless buffers go over by one."""
        self._seq += 1
        if self._bus.subscriptions:
            self._bus.emit_nowait(self._make(kind, fields))


@final
class EventBus:
    """Where every event of a runtime goes: `rt.events`.

    - `async with bus.subscribe(filter) as events: async for e in events:` —
      a bounded per-subscriber buffer (drop-oldest, counted) or, with
      `lossless=True`, backpressure on the publishers.
    - `bus.on(type, handler)` — AbstractCore-style handlers (sync or async).
    - `await bus.emit(event)` — publish your own events (subclass `Event`).
    """

    def __init__(self, system: ActorSystem | None = None) -> None:
        # None: a bus of one component's own (an MCP server's progress), with
        # subscribers only; `on` handlers need a system for their actor
        self._system = system
        self.subscriptions: list[Subscription] = []
        self._handlers: list[tuple[Callable[[Event], bool], Handler, object]] = []
        self._handler_feed: Subscription | None = None
        self.handler_failures = 0

    def __repr__(self) -> str:
        return f"<EventBus subscriptions={len(self.subscriptions)} handlers={len(self._handlers)}>"

    def emitter(
        self,
        request_id: str,
        *,
        session_id: str | None = None,
        provider: str = "",
        model: str = "",
    ) -> Emitter:
        """An emitter that numbers the events of one request."""
        return Emitter(self, request_id, session_id, provider, model)

    # -- subscribing ------------------------------------------------------

    @asynccontextmanager
    async def subscribe(
        self,
        filter: EventSelector = None,
        *,
        request_id: str | None = None,
        session_id: str | None = None,
        buffer: int = _DEFAULT_BUFFER,
        lossless: bool = False,
    ) -> AsyncIterator[Subscription]:
        """Receive matching events while the block runs.

        `filter`: an Event subclass, a type name ("tool.completed"), "*", a
        list of those, or a predicate; `request_id` / `session_id` narrow it.
        Lossy by default: when `buffer` events are waiting, the oldest is
        dropped and the next event you get has `dropped` set. `lossless=True`
        makes generation wait for you instead — use it only for consumers
        that keep up (an audit log), never for a UI.
        """
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            raise ValidationError(f"buffer must be a positive number of events (got {buffer!r})")
        accepts = make_filter(filter, request_id=request_id, session_id=session_id)
        subscription = Subscription(accepts, buffer=buffer, lossless=lossless)
        self.subscriptions.append(subscription)
        try:
            yield subscription
        finally:
            self._drop(subscription)

    def _drop(self, subscription: Subscription) -> None:
        subscription.close()
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)

    # -- publishing -------------------------------------------------------

    async def emit(self, event: Event) -> None:
        """Publish `event` to every matching subscriber and handler."""
        waiting: list[Subscription] = []
        for subscription in self.subscriptions:
            if not subscription.accepts(event):
                continue
            if subscription.lossless and subscription.must_wait():
                waiting.append(subscription)
            else:
                subscription.put_nowait(event)
        for subscription in waiting:
            await subscription.put(event)

    def emit_nowait(self, event: Event) -> None:
        """Publish without ever waiting (lossless buffers may go over their bound)."""
        for subscription in self.subscriptions:
            if subscription.accepts(event):
                subscription.put_nowait(event)

    def close(self) -> None:
        """The runtime is ending: subscribers get what is queued, then EndOfChannel."""
        for subscription in self.subscriptions:
            subscription.end()

    # -- handlers (AbstractCore style) -------------------------------------

    def on(self, event_type: EventSelector, handler: Handler) -> Callable[[], None]:
        """Call `handler(event)` for every matching event; returns an `off()` function.

        Sync and async handlers both work; they run in order, one at a time,
        in a supervised dispatcher actor, so a slow handler delays only
        other handlers. A handler that raises is reported as an
        `ErrorOccurred(source="handler")` event; the call that emitted never
        notices.
        """
        if not callable(handler):
            raise ValidationError(f"handler must be callable, got {handler!r}")
        if self._system is None:
            raise ValidationError("this bus has no actor system to run handlers: use subscribe()")
        token = object()
        self._handlers.append((make_filter(event_type), handler, token))
        if self._handler_feed is None:
            # Subscribed now, not when the dispatcher first runs: no event
            # published between `on()` and that moment is missed.
            self._handler_feed = Subscription(
                lambda event: any(accepts(event) for accepts, _, _ in self._handlers),
                buffer=_HANDLER_BUFFER,
                lossless=False,
            )
            self.subscriptions.append(self._handler_feed)
            feed = self._handler_feed
            self._system.root.spawn_nowait(
                lambda: _HandlerDispatcher(self, feed), name="events:handlers"
            )

        def off() -> None:
            self._handlers[:] = [h for h in self._handlers if h[2] is not token]

        return off

    async def handlers_done(self, timeout: float = 1.0) -> None:
        """Wait until the `on(...)` handlers have run for every event published
        so far (at most `timeout` seconds: a handler may be slow). The sync
        facade's AbstractCore-style calls wait for it, so a handler has seen
        a call's events by the time the call returns, as AbstractCore's do."""
        feed = self._handler_feed
        if feed is None or not self._handlers:
            return
        marker = _HandlersDone(done=trio.Event())
        feed.put_nowait(marker)  # behind every event already queued for the handlers
        with trio.move_on_after(timeout):
            await marker.done.wait()

    def off(self, event_type: EventSelector, handler: Handler) -> None:
        """Remove every registration of `handler` (the `event_type` is for symmetry)."""
        self._handlers[:] = [h for h in self._handlers if h[1] is not handler]

    async def _dispatch(self, event: Event, reporter: Emitter) -> None:
        for accepts, handler, _token in list(self._handlers):
            if not accepts(event):
                continue
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.handler_failures += 1
                if isinstance(event, ErrorOccurred) and event.source == "handler":
                    continue  # a handler failing on handler errors: count, don't loop
                name = getattr(handler, "__qualname__", repr(handler))
                await reporter.emit(
                    ErrorOccurred,
                    source="handler",
                    error_type=type(exc).__name__,
                    message=f"event handler {name} raised on {event.type}: {exc}",
                )


class _HandlerDispatcher(Behaviour):
    """Runs `on(...)` handlers from the bus's handler feed, in event order."""

    def __init__(self, bus: EventBus, feed: Subscription) -> None:
        self._bus = bus
        self._feed = feed

    async def started(self, ctx: ActorContext) -> None:
        ctx.start_soon(self._pump)

    async def _pump(self) -> None:
        reporter = self._bus.emitter("events:handlers")
        async for event in self._feed:
            if isinstance(event, _HandlersDone):
                event.done.set()
                continue
            await self._bus._dispatch(event, reporter)


@attrs.frozen(kw_only=True)
class _HandlersDone(Event):
    """A marker in the handler feed: every event before it has been handled."""

    type: ClassVar[str] = "events.handlers_done"
    done: trio.Event
