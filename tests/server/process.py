"""A real `abstractcore-actors serve` process in front of a fake upstream."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from abstractcore_actors.testing import FakeOpenAIServer

from .conftest import UPSTREAM_KEY

KEY = "sigterm-key"
ROOT = Path(__file__).resolve().parents[2]
TOML = """
[server]
api_keys = ["{client_key}"]
{server_extra}

[models.words]
provider = "openai-compatible"
model = "words"
options = {{ base_url = "{base}", api_key = "{key}", max_retries = 0{extra} }}
{tables}
"""
LISTENING = re.compile(rb"gateway on http://\S+:(\d+)\n")


@asynccontextmanager
async def gateway_process(
    tmp_path: Path,
    upstream: FakeOpenAIServer,
    grace: float = 10.0,
    options: str = "",
    server: str = "",
    tables: str = "",
) -> AsyncIterator[tuple[trio.Process, int]]:
    """`abstractcore-actors serve` in its own process; yields it and its port.
    `options`: more TOML `key = value` pairs for the model's options;
    `server`: more lines of [server]; `tables`: more tables at the end."""
    path = tmp_path / "gw.toml"
    path.write_text(
        TOML.format(
            base=upstream.base_url,
            key=UPSTREAM_KEY,
            client_key=KEY,
            extra=f", {options}" if options else "",
            server_extra=server,
            tables=tables,
        )
    )
    command = [sys.executable, "-m", "abstractcore_actors.cli", "serve", "--config", str(path)]
    command += ["--port", "0", "--grace", str(grace)]
    run = functools.partial(
        trio.run_process, command, stderr=subprocess.PIPE, check=False, cwd=ROOT
    )
    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(run)
        assert process.stderr is not None
        seen = b""
        while not (match := LISTENING.search(seen)):
            seen += await process.stderr.receive_some(1024)
        try:
            yield process, int(match.group(1))
        finally:
            if process.returncode is None:
                process.kill()
