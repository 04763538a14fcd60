"""A real redis-server on a loopback port, for a test's (or a benchmark's)
block: Debian's `redis-server`, with its data in a folder of the caller's
(append-only, fsync always), so `stop()` then `start()` keeps it."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

REDIS = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisProcess:
    """One redis-server; `stop()` and `start()` again keep its data (AOF)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: trio.Process | None = None

    async def start(self) -> None:
        if REDIS is None:
            raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
        command = [
            REDIS,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--dir", str(self.folder),
        ]  # fmt: skip
        self.process = await trio.lowlevel.open_process(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with trio.fail_after(10):
            while True:
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", self.port)
                except OSError:
                    await trio.sleep(0.02)
                    continue
                await stream.aclose()
                return

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            with trio.move_on_after(10):
                await self.process.wait()
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        self.process = None


@asynccontextmanager
async def running_redis(folder: Path) -> AsyncIterator[RedisProcess]:
    """A redis-server on a free loopback port for the block; stopped after it."""
    redis = RedisProcess(folder, free_port())
    await redis.start()
    try:
        yield redis
    finally:
        with trio.CancelScope(shield=True):
            await redis.stop()
