"""The floor of an ASGI server on trio: a static JSON answer, no runtime
behind it, served by Hypercorn's trio worker or by the gateway's own server.

    python benchmarks/_asgi_floor.py hypercorn|own PORT

Run by gateway_wrk.py under wrk, each server in its own process.
"""

from __future__ import annotations

import functools
import sys

import trio

BODY = (
    b'{"id":"chatcmpl-floor","object":"chat.completion","model":"m","choices":'
    b'[{"index":0,"message":{"role":"assistant","content":"hello there"},'
    b'"finish_reason":"stop"}]}'
)
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]


async def app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main(server: str, port: int) -> None:
    if server == "hypercorn":
        from hypercorn.config import Config
        from hypercorn.trio import serve

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.accesslog = config.errorlog = None
        trio.run(serve, app, config)
    else:
        from abstractcore_actors.server._listener import serve_asgi

        forever = trio.sleep_forever
        trio.run(
            functools.partial(
                serve_asgi, app, "127.0.0.1", port, shutdown_trigger=forever, graceful_timeout=1
            )
        )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
