"""The command line: `abstractcore-actors serve [--config F] [--check] [--host H] [--port P]
[--grace S]`, `abstractcore-actors spend (--config F | --ledger DB) [--by G] [--since D]`,
and `abstractcore-actors mcp serve --tools MODULE[:ATTR] [--http HOST:PORT] [--timeout S]`."""

from __future__ import annotations

import argparse
import errno
import functools
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

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
    spend = commands.add_parser("spend", help="report spend from the gateway's ledger")
    where = spend.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", help="gateway TOML file (its [server] ledger)")
    where.add_argument("--ledger", help="the ledger's SQLite file")
    spend.add_argument(
        "--by",
        default="key",
        choices=("key", "user", "team", "model", "day"),
        help="group the totals by (default: key)",
    )
    spend.add_argument(
        "--since", default=None, help="from this UTC day on (YYYY-MM-DD; default: all time)"
    )
    mcp = commands.add_parser("mcp", help="serve @tool functions over MCP")
    mcp_commands = mcp.add_subparsers(dest="mcp_command", required=True)
    mcp_serve = mcp_commands.add_parser(
        "serve", help="an MCP server of your tools (stdio, or streamable HTTP with --http)"
    )
    mcp_serve.add_argument(
        "--tools",
        action="append",
        required=True,
        metavar="MODULE[:ATTR]",
        help="a @tool function or a list of them (module:attr), or every @tool of a "
        "module (module); repeat for more",
    )
    mcp_serve.add_argument(
        "--http",
        metavar="HOST:PORT",
        default=None,
        help="serve streamable HTTP at http://HOST:PORT/mcp (default: stdio)",
    )
    mcp_serve.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds a call may run, for tools without their own timeout (default 30)",
    )
    mcp_serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME:PORT",
        help="a Host header to accept besides local ones (HTTP; '*' for any port)",
    )
    mcp_serve.add_argument(
        "--token-env",
        metavar="NAME",
        default=None,
        help="HTTP: require 'Authorization: Bearer <token>', the token read from the "
        "environment variable NAME (never from the command line, where ps shows it)",
    )
    return parser


def _ledger_and_since(
    config_path: str | None, ledger_path: str | None, since: str | None
) -> tuple[str, float]:
    """The ledger file to report and the start of the report (epoch seconds)."""
    import datetime

    if ledger_path is None:
        from .server import load_config

        ledger_path = load_config(str(config_path)).ledger
        if ledger_path is None:
            raise ConfigurationError(f'{config_path} has no [server] ledger = "..." to report')
    if not Path(ledger_path).exists():
        raise ConfigurationError(f"no ledger at {ledger_path}: the gateway has not written one")
    if since is None:
        return ledger_path, 0.0
    try:
        day = datetime.datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise ConfigurationError(f"--since must be a day, YYYY-MM-DD (got {since!r})") from None
    return ledger_path, day.timestamp()


async def _spend(ledger_path: str, by: str, since: float) -> None:
    from ._budgets import SqliteLedger

    ledger = await SqliteLedger.open(ledger_path)
    try:
        rows = await ledger.report(by, since)
    finally:
        await ledger.aclose()
    print(f"{by:<24} {'calls':>8} {'tokens':>14} {'cost (USD)':>14}")
    for row in rows:
        cost = row["cost_usd"]
        shown = "unknown" if cost is None else f"{cost:.6f}"
        unpriced = int(str(row["unpriced_calls"]))
        priced = f"${row['priced_cost_usd']:.6f}"
        note = f"  ({unpriced} unpriced; priced part {priced})" if unpriced else ""
        print(f"{row[by]!s:<24} {row['calls']:>8} {row['tokens']:>14} {shown:>14}{note}")


async def _check(config_path: str | None) -> None:
    from .server import GatewayConfig, load_config  # the optional `server` extra
    from .server._config import check_config

    config = load_config(config_path) if config_path else GatewayConfig()
    async with open_runtime() as rt:
        check_config(config, lambda r: rt.check_llm(r.provider, r.model, **r.options))
    names = ", ".join(config.models) or "the local model only"
    print(f"abstractcore-actors: {config_path or 'the default config'} is good: {names}")


async def _serve(config_path: str | None, host: str, port: int, grace: float | None) -> None:
    from .server import GatewayConfig, load_config, serve, tune_gc  # the `server` extra

    config = load_config(config_path) if config_path else GatewayConfig()
    if grace is not None:
        if not grace >= 0:
            raise ConfigurationError(f"--grace must be >= 0 seconds (got {grace})")
        config = attrs.evolve(config, shutdown_grace=grace)
    stop = trio.Event()
    async with open_runtime() as rt, trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, stop)
        bound = await nursery.start(
            functools.partial(serve, rt, config, host=host, port=port, shutdown=stop)
        )
        tune_gc()  # this process is the server's: start-up objects stay for good
        print(f"abstractcore-actors gateway on http://{host}:{bound}", file=sys.stderr, flush=True)
        await stop.wait()


def _host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigurationError(f"--http takes HOST:PORT, e.g. 127.0.0.1:8765 (got {value!r})")
    return host.strip("[]"), int(port)


def _token_from_env(name: str | None, http: str | None) -> str | None:
    if name is None:
        return None
    if http is None:
        raise ConfigurationError(
            "--token-env is for --http: a stdio server is reached only by the process "
            "that starts it"
        )
    token = os.environ.get(name, "").strip()
    if not token:
        raise ConfigurationError(f"--token-env {name}: the variable is not set, or is empty")
    return token


async def _mcp_serve(
    targets: list[str], http: str | None, timeout: float, hosts: list[str], token: str | None
) -> None:
    from ._mcp import load_tools, mcp_server, serve_stdio
    from .errors import ValidationError

    address = _host_port(http) if http is not None else None
    try:
        tools = load_tools(targets)
    except ValidationError as exc:
        raise ConfigurationError(str(exc)) from None
    if address is None:
        # stdout is the protocol's: anything said goes to stderr
        await serve_stdio(mcp_server(tools, timeout=timeout))
        return
    from .server import serve_mcp  # the `server` extra

    host, port = address
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal, stop)
        bound = await nursery.start(
            functools.partial(
                serve_mcp,
                tools,
                host=host,
                port=port,
                shutdown=stop,
                timeout=timeout,
                allowed_hosts=hosts,
                bearer_token=token,
            )
        )
        print(
            f"abstractcore-actors MCP server on http://{host}:{bound}/mcp: {', '.join(tools)}",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
        nursery.cancel_scope.cancel()


async def _stop_on_signal(stop: trio.Event) -> None:
    # SIGTERM / Ctrl-C: stop accepting, let open requests finish within the grace
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `abstractcore-actors` script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "mcp":
            token = _token_from_env(args.token_env, args.http)
            trio.run(_mcp_serve, args.tools, args.http, args.timeout, args.allow_host, token)
        elif args.command == "spend":
            ledger, since = _ledger_and_since(args.config, args.ledger, args.since)
            trio.run(_spend, ledger, args.by, since)
        elif args.check:
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
                f"abstractcore-actors: cannot listen on {_address(args)}: the address "
                "is in use (stop what holds it, or pick another port)",
                file=sys.stderr,
            )
            return 1
        if isinstance(exc, ImportError):
            extras = "mcp,server" if args.command == "mcp" else "server"
            print(
                f"abstractcore-actors: {exc}; install the extras: "
                f"pip install 'abstractcore-actors[{extras}]'",
                file=sys.stderr,
            )
            return 2
        raise
    return 0


def _address(args: argparse.Namespace) -> str:
    return args.http if args.command == "mcp" else f"{args.host}:{args.port}"


def _sole(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member groups, else `exc`."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


if __name__ == "__main__":
    sys.exit(main())
