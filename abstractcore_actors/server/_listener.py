"""`serve_asgi`: listen on host:port and serve each connection with `_http1`,
with a graceful stop: on the trigger the listener closes (new connections
are refused), idle keep-alive connections close, busy ones close after
their answer, and whatever is left after `graceful_timeout` is cancelled."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from ._http1 import App, Connection, make_date
from ._websocket import serve_websocket

KEEP_ALIVE = 5.0  # seconds an idle connection stays open (Hypercorn's default too)


async def serve_asgi(
    app: App,
    host: str,
    port: int,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]],
    graceful_timeout: float,
    keep_alive: float = KEEP_ALIVE,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` until `shutdown_trigger()` returns (graceful) or the caller
    is cancelled (at once); `task_status.started` gets the bound port."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    date = make_date()
    open_connections: set[Connection] = set()

    async def handle(stream: trio.SocketStream) -> None:
        connection = Connection(
            stream,
            app,
            date,
            server=_address(stream.socket.getsockname()),
            client=_address(stream.socket.getpeername()),
            websocket=serve_websocket,
        )
        open_connections.add(connection)
        try:
            await connection.run()
        finally:
            open_connections.discard(connection)

    async with trio.open_nursery() as connections:
        async with trio.open_nursery() as accepting:
            accepting.start_soon(_accept, listeners, handle, connections)
            accepting.start_soon(_reap_idle, open_connections, keep_alive)
            task_status.started(bound)
            await shutdown_trigger()
            accepting.cancel_scope.cancel()
        for listener in listeners:
            await listener.aclose()
        for connection in list(open_connections):
            connection.stop_when_idle()
        connections.cancel_scope.deadline = trio.current_time() + graceful_timeout


async def _reap_idle(connections: set[Connection], keep_alive: float) -> None:
    """Close connections that waited more than `keep_alive` s for a request
    (checked a few times per keep-alive period: one timer for all of them)."""
    while True:
        await trio.sleep(keep_alive / 5)
        cutoff = trio.current_time() - keep_alive
        for connection in list(connections):
            if connection.idle_since is not None and connection.idle_since <= cutoff:
                connection.stop_when_idle()


async def _accept(
    listeners: list[trio.SocketListener],
    handle: Callable[[trio.SocketStream], Awaitable[None]],
    connections: trio.Nursery,
) -> None:
    async with trio.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_accept_one, listener, handle, connections)


async def _accept_one(
    listener: trio.SocketListener,
    handle: Callable[[trio.SocketStream], Awaitable[None]],
    connections: trio.Nursery,
) -> None:
    while True:
        try:
            stream = await listener.accept()
        except OSError as error:
            # out of file descriptors and the like: wait, do not spin or die
            if error.errno is None:
                raise
            await trio.sleep(0.1)
            continue
        connections.start_soon(handle, stream)


def _address(address: object) -> tuple[str, int] | None:
    if isinstance(address, tuple) and len(address) >= 2:
        return (str(address[0]), int(address[1]))
    return None
