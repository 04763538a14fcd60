"""A small Redis client on trio: commands over RESP, parsed by hiredis.

Only what the budget store needs: `call(*args)` and `script(...)` (EVALSHA,
loading the script on NOSCRIPT). Connections are pooled (a stack of idle
ones; one per command in flight, up to `max_connections`). Every command
has a deadline (`timeout`); a connection that failed or timed out is
closed, never reused. Any failure to reach Redis is `RedisUnavailable`.
The password never shows in a repr or an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis
import trio

from ..errors import ConfigurationError


class RedisUnavailable(Exception):
    """Redis could not be reached or did not answer in time."""


class RedisError(Exception):
    """Redis answered a command with an error (a bug of ours, or a bad script)."""


class _Gone(Exception):
    """The server closed the connection."""


class _Connection:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.reader = hiredis.Reader()
        self.heard = False  # bytes of the current command's reply arrived

    async def command(self, args: Sequence[str | int | float | bytes]) -> Any:
        self.heard = False
        await self.stream.send_all(hiredis.pack_command(tuple(args)))  # type: ignore[arg-type]
        while True:
            reply = self.reader.gets()
            if reply is not False:
                return reply
            data = await self.stream.receive_some(65536)
            if not data:
                raise _Gone("Redis closed the connection")
            self.heard = True
            self.reader.feed(data)


class RedisClient:
    """`await RedisClient.connect("redis://[:password@]host:port/db")`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        password: str | None = None,
        db: int = 0,
        timeout: float = 2.0,
        max_connections: int = 32,
    ) -> None:
        self.host, self.port, self.db = host, port, db
        self._password = password
        self.timeout = timeout
        self._idle: list[_Connection] = []
        self._slots = trio.Semaphore(max_connections)
        self._scripts: dict[str, str] = {}  # sha1 -> source

    def __repr__(self) -> str:  # never the password
        return f"<RedisClient {self.host}:{self.port}/{self.db}>"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisClient:
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise ConfigurationError(
                "redis must be a URL like redis://127.0.0.1:6379/0 (rediss:// is not supported)"
            )
        db = parts.path.strip("/") or "0"
        if not db.isdigit():
            raise ConfigurationError(f"the Redis database must be a number (got {db!r})")
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, parts.port or 6379, password=password, db=int(db), **options)

    async def _open(self) -> _Connection:
        try:
            stream = await trio.open_tcp_stream(self.host, self.port)
        except OSError as exc:
            raise RedisUnavailable(
                f"cannot connect to Redis at {self.host}:{self.port}: {exc}"
            ) from None
        connection = _Connection(stream)
        try:
            if self._password is not None:
                self._check(await connection.command(("AUTH", self._password)), "AUTH")
            if self.db:
                self._check(await connection.command(("SELECT", self.db)), "SELECT")
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
        return connection

    @staticmethod
    def _check(reply: Any, what: str) -> Any:
        if isinstance(reply, hiredis.ReplyError):
            # not the reply's text for AUTH: it may echo what was sent
            raise RedisError(f"Redis refused {what}" + ("" if what == "AUTH" else f": {reply}"))
        return reply

    async def call(self, *args: str | int | float | bytes) -> Any:
        """One command's reply; RedisUnavailable when Redis is down or slow,
        RedisError when it answers with an error.

        A pooled connection found dead (Redis restarted since it was last
        used) is dropped with every other idle one, and the command goes once
        more on a new connection: a dead socket takes a command nowhere, so it
        cannot have run."""
        async with self._slots:
            reply = await self._on_a_connection(args, reused=bool(self._idle))
        if isinstance(reply, hiredis.ReplyError):
            raise RedisError(str(reply))
        return reply

    async def _on_a_connection(
        self, args: Sequence[str | int | float | bytes], reused: bool
    ) -> Any:
        connection = self._idle.pop() if reused else None
        try:
            with trio.fail_after(self.timeout):
                if connection is None:
                    connection = await self._open()
                reply = await connection.command(args)
        except trio.TooSlowError:
            await self._discard(connection)
            raise RedisUnavailable(f"Redis did not answer within {self.timeout:g}s") from None
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, _Gone) as exc:
            await self._discard(connection)
            if reused and not (connection is not None and connection.heard):
                await self.aclose()  # its siblings are as stale
                return await self._on_a_connection(args, reused=False)
            raise RedisUnavailable(f"the connection to Redis broke: {exc}") from None
        except BaseException:
            await self._discard(connection)
            raise
        self._idle.append(connection)
        return reply

    async def script(
        self, source: str, keys: Sequence[str], args: Sequence[str | int | float]
    ) -> Any:
        """Run a Lua script atomically (EVALSHA; loaded on first use or NOSCRIPT)."""
        sha = hashlib.sha1(source.encode()).hexdigest()
        self._scripts[sha] = source
        try:
            return await self.call("EVALSHA", sha, len(keys), *keys, *args)
        except RedisError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.call("SCRIPT", "LOAD", source)
        return await self.call("EVALSHA", sha, len(keys), *keys, *args)

    @staticmethod
    async def _discard(connection: _Connection | None) -> None:
        if connection is not None:
            await trio.aclose_forcefully(connection.stream)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await trio.aclose_forcefully(connection.stream)
