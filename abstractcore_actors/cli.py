"""The command line: `abstractcore-actors serve [--config F] [--host H] [--port P] [--grace S]`."""

from __future__ import annotations

import argparse
import functools
import signal
import sys
from collections.abc import Sequence

import attrs
import trio

from .errors import ConfigurationError
from .runtime import open_runtime


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abstractcore-actors")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the OpenAI-compatible gateway")
    serve.add_argument("--config", help="gateway TOML file (default: the local model only)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    serve.add_argument(
        "--grace",
        type=float,
        default=None,
        help="seconds open requests get to finish on SIGTERM (default: the config's "
        "shutdown_grace, 10)",
    )
    return parser


async def _serve(config_path: str | None, host: str, port: int, grace: float | None) -> None:
    from .server import GatewayConfig, load_config, serve  # the optional `server` extra

    config = load_config(config_path) if config_path else GatewayConfig()
    if grace is not None:
        if not grace >= 0:
            raise ConfigurationError(f"--grace must be >= 0 seconds (got {grace})")
        config = attrs.evolve(config, shutdown_grace=grace)
    stop = trio.Event()

    async def stop_on_signal() -> None:
        # SIGTERM / Ctrl-C: stop accepting, let open requests finish within the grace
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                stop.set()
                return

    async with open_runtime() as rt, trio.open_nursery() as nursery:
        nursery.start_soon(stop_on_signal)
        bound = await nursery.start(
            functools.partial(serve, rt, config, host=host, port=port, shutdown=stop)
        )
        print(f"abstractcore-actors gateway on http://{host}:{bound}", file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `abstractcore-actors` script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        trio.run(_serve, args.config, args.host, args.port, args.grace)
    except ConfigurationError as exc:
        print(f"abstractcore-actors: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(
            f"abstractcore-actors: {exc}; install the server extra: "
            "pip install 'abstractcore-actors[server]'",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
