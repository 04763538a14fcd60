"""The OpenAI-compatible gateway: an ASGI app over a Runtime, served by its own
HTTP/1.1 server on trio.

    async with open_runtime() as rt, trio.open_nursery() as nursery:
        port = await nursery.start(serve, rt, load_config("gateway.toml"))

See docs/server.md.
"""

from ._app import GatewayApp as GatewayApp
from ._app import make_app as make_app
from ._config import GatewayConfig as GatewayConfig
from ._config import ModelRoute as ModelRoute
from ._config import hash_key as hash_key
from ._config import load_config as load_config
from ._gc import tune_gc as tune_gc
from ._keys import KeyPolicy as KeyPolicy
from ._mcp import serve_mcp as serve_mcp
from ._serve import serve as serve

__all__ = [
    "GatewayApp",
    "GatewayConfig",
    "KeyPolicy",
    "ModelRoute",
    "hash_key",
    "load_config",
    "make_app",
    "serve",
    "serve_mcp",
    "tune_gc",
]
