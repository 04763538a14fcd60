"""The command line: `abstractcore-actors serve [--config F] [--check] [--host H] [--port P]
[--grace S]`."""

from __future__ import annotations

import argparse
import errno
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
    serve.add_argument(
        "--check",
        action="store_true",
        help="check the config (every model's provider, key and options) and exit: "
        "0 when it is good, 2 with every problem listed",
    )
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


async def _check(config_path: str | None) -> None:
    from .server import GatewayConfig, load_config  # the optional `server` extra
    from .server._config import check_config

    config = load_config(config_path) if config_path else GatewayConfig()
    async with open_runtime() as rt:
        check_config(config, lambda r: rt.check_llm(r.provider, r.model, **r.options))
    names = ", ".join(config.models) or "the local model only"
    print(f"abstractcore-actors: {config_path or 'the default config'} is good: {names}")


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
        if args.check:
            trio.run(_check, args.config)
        else:
            trio.run(_serve, args.config, args.host, args.port, args.grace)
    except Exception as raised:
        # Start-up errors a user fixes get one line, not a traceback; they may
        # arrive wrapped in the nurseries' exception groups.
        exc = _sole(raised)
        if isinstance(exc, ConfigurationError):
            print(f"abstractcore-actors: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            print(
                f"abstractcore-actors: cannot listen on {args.host}:{args.port}: the address "
                "is in use (stop what holds it, or pick another --port)",
                file=sys.stderr,
            )
            return 1
        if isinstance(exc, ImportError):
            print(
                f"abstractcore-actors: {exc}; install the server extra: "
                "pip install 'abstractcore-actors[server]'",
                file=sys.stderr,
            )
            return 2
        raise
    return 0


def _sole(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member groups, else `exc`."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


if __name__ == "__main__":
    sys.exit(main())
