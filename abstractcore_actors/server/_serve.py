"""`serve`: the gateway on its own HTTP/1.1 server (`_listener`), embeddable in any trio nursery."""

from __future__ import annotations

import functools

import trio

from .._budgets import Spending
from ..runtime import Runtime
from ._app import GatewayApp, make_app
from ._config import GatewayConfig, check_config
from ._gateway_tools import open_gateway_tools
from ._listener import serve_asgi

_BACKSTOP = 2.0  # seconds past the grace for cut requests to send their last bytes


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
    `shutdown` stops it gracefully: the app starts draining (new requests
    and /health get 503), the listener closes (new connections are refused),
    idle keep-alive connections close, and open requests get
    `config.shutdown_grace` seconds to finish; then their upstream calls are
    cancelled and each gets a final 503 `server_shutting_down` (as an SSE
    error event when its stream had started). Returns when all have ended.
    """
    config = config or GatewayConfig()
    # Every configured model's provider is set up now, not at its first
    # request: a misspelt provider or option, a missing key or base_url stops
    # start-up with all problems listed (instead of 404s and 503s later).
    check_config(config, lambda route: rt.check_llm(route.provider, route.model, **route.options))
    # Prices now, in a thread: the first lookup reads genai-prices' whole data
    # set (~0.5 s), which would otherwise stall the first request's event loop.
    await trio.to_thread.run_sync(rt.prices.warm, _priced_models(rt, config))
    # the ledger (when configured) is opened first: the budgets resume from it
    spending = await Spending.open(
        config.budgets,
        config.ledger,
        redis_url=config.redis,
        redis_prefix=config.redis_prefix,
        # a hold outlives any call, so only a dead replica's holds expire
        hold_ttl=(config.request_timeout or 3600.0) + 60.0,
        when_store_down=config.when_store_down,
    )
    try:
        await _serve(rt, config, spending, host, port, shutdown, task_status)
    finally:
        await spending.aclose()


def _priced_models(rt: Runtime, config: GatewayConfig) -> list[tuple[str, str, str | None]]:
    """(provider, model, base_url) of every configured model and deployment."""
    rt.prices.add(config.prices)
    routes = list(config.models.values())
    routes += [d.route for spec in config.routers.values() for d in spec.deployments]
    found = []
    for route in routes:
        try:
            llm_config = rt.provider_config(route.provider, route.model, **route.options)
        except Exception:
            continue
        found.append((llm_config.provider, llm_config.model, llm_config.base_url))
    return found


async def _serve(
    rt: Runtime,
    config: GatewayConfig,
    spending: Spending,
    host: str,
    port: int,
    shutdown: trio.Event | None,
    task_status: trio.TaskStatus[int],
) -> None:
    async with open_gateway_tools(rt, config) as tools:  # MCP servers up before listening
        app = make_app(rt, config, spending, tools)
        await _listen(app, config, host, port, shutdown, task_status)


async def _listen(
    app: GatewayApp,
    config: GatewayConfig,
    host: str,
    port: int,
    shutdown: trio.Event | None,
    task_status: trio.TaskStatus[int],
) -> None:
    await app.router.prepare()  # semantic routes' examples embedded before listening
    stop = shutdown if shutdown is not None else trio.Event()

    async def trigger() -> None:
        await stop.wait()
        app.start_draining()
        # event sockets never end by themselves: close them (1001) so a
        # graceful shutdown does not wait out its grace for them
        app.events.shutdown()

    run = functools.partial(
        serve_asgi,
        app,
        host,
        port,
        shutdown_trigger=trigger,
        # the server cancels what is left this long after the trigger; our
        # drain deadline comes first so cut requests can still say why (_drain.py)
        graceful_timeout=config.shutdown_grace + _BACKSTOP,
    )
    async with trio.open_nursery() as nursery:
        task_status.started(await nursery.start(run))
