"""`serve`: the gateway on Hypercorn's trio worker, embeddable in any trio nursery."""

from __future__ import annotations

import functools
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from ..runtime import Runtime
from ._app import make_app
from ._config import GatewayConfig


async def serve(
    rt: Runtime,
    config: GatewayConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    shutdown: trio.Event | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the gateway on `host:port` until cancelled or `shutdown` is set.

    `await nursery.start(serve, rt, config, port=0)` returns the bound port
    once the server listens. Cancelling the caller's scope stops it at once
    (open requests are cancelled, their upstream calls with them); setting
    `shutdown` stops it gracefully: it stops accepting and lets open
    requests finish (up to Hypercorn's graceful timeout).
    """
    hc = HypercornConfig()
    hc.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    hc.accesslog = None
    hc.errorlog = None
    hc.graceful_timeout = 5.0
    stop = shutdown if shutdown is not None else trio.Event()
    # our ASGI types are plain mappings, looser than Hypercorn's TypedDicts
    app: Any = make_app(rt, config)

    async def trigger() -> None:
        await stop.wait()
        # event sockets never end by themselves: close them (1001) so a
        # graceful shutdown does not wait out its timeout for them
        app.events.shutdown()

    run = functools.partial(hypercorn_serve, app, hc, shutdown_trigger=trigger)
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(run)
        task_status.started(int(binds[0].rsplit(":", 1)[1]))
