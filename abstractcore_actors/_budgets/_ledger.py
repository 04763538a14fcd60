"""The usage ledger: every settled call, in SQLite (WAL), written off the
event loop.

`record()` returns once its row is committed: a call counts as settled
only when it is on disk, so `kill -9` of the process loses no settled
call. Commits are grouped: while one batch is being written in a worker
thread, the records that arrive wait and go together in the next, so under
load a commit (and its fsync) carries many calls, and alone each goes at
once. One connection, used by one worker thread at a time (the lock).

At start-up `totals()` rebuilds the budgets' running totals from the rows
of their current periods, so a restart resumes where the budgets were.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import trio

from ._book import CounterKey
from ._spec import Budget, Scope, Spend

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    request_id TEXT NOT NULL,
    key TEXT,
    user TEXT,
    team TEXT,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    cost_nano_usd INTEGER,
    outcome TEXT NOT NULL,
    latency REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_ts ON calls (ts);
"""
_COLUMNS = (
    "ts",
    "request_id",
    "key",
    "user",
    "team",
    "model",
    "provider",
    "prompt_tokens",
    "completion_tokens",
    "tokens",
    "cost_nano_usd",
    "outcome",
    "latency",
)
_INSERT = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


@attrs.frozen(kw_only=True)
class CallRecord:
    """One settled call. `cost_nano_usd` None: its price was unknown."""

    ts: float
    request_id: str
    key: str | None
    user: str | None
    team: str | None
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    cost_nano_usd: int | None
    outcome: str
    latency: float

    def row(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _COLUMNS)


class SqliteLedger:
    """Open with `await SqliteLedger.open(path)`; close with `await ledger.aclose()`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.path = path
        self._db = connection
        self._lock = trio.Lock()  # one commit (or query) at a time
        self._pending: list[CallRecord] = []
        self._queued = 0  # records handed to record(), ever
        self._committed = 0  # of those, committed
        self._thread_guard = threading.Lock()  # belt and braces around the connection
        self.commits = 0  # batches written (tests and benchmarks read it)

    @classmethod
    async def open(cls, path: str | Path) -> SqliteLedger:
        where = Path(path)

        def connect() -> sqlite3.Connection:
            db = sqlite3.connect(where, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed row survives a crash of the whole machine, not
            # only of the process (WAL with NORMAL would already survive kill -9).
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            return db

        return cls(await trio.to_thread.run_sync(connect), where)

    async def record(self, record: CallRecord) -> None:
        """Return once `record` is committed (with whatever else was waiting)."""
        self._pending.append(record)
        self._queued += 1
        mine = self._queued
        async with self._lock:
            if self._committed >= mine:
                return  # an earlier batch took it
            batch, self._pending = self._pending, []
            await trio.to_thread.run_sync(self._write, batch)
            self._committed += len(batch)
            self.commits += 1

    def _write(self, batch: Sequence[CallRecord]) -> None:
        with self._thread_guard:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(_INSERT, [r.row() for r in batch])
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    async def totals(self, budgets: Iterable[Budget], now: float) -> list[tuple[CounterKey, Spend]]:
        """The spent totals of each budget's current period, by subject."""
        found: list[tuple[CounterKey, Spend]] = []
        for budget in budgets:
            period, start, _ = budget.period.window(now)
            column = {Scope.KEY: "key", Scope.USER: "user", Scope.TEAM: "team"}[budget.scope]
            query = (
                f"SELECT {column}, COALESCE(SUM(cost_nano_usd), 0), SUM(tokens) FROM calls "
                f"WHERE ts >= ? AND {column} IS NOT NULL"
            )
            args: list[object] = [start]
            if budget.name != "*":
                query += f" AND {column} = ?"
                args.append(budget.name)
            rows = await self.query(query + f" GROUP BY {column}", args)
            for subject, nano, tokens in rows:
                spend = Spend(int(str(nano)), int(str(tokens)))
                found.append(((budget.label, str(subject), period), spend))
        return found

    async def report(self, by: str, since: float) -> list[dict[str, object]]:
        """Totals since `since` grouped by key, user, team, model or day (UTC)."""
        group = "strftime('%Y-%m-%d', ts, 'unixepoch')" if by == "day" else by
        assert by in ("key", "user", "team", "model", "day")  # never user text in the SQL
        rows = await self.query(
            f"SELECT {group}, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), "
            "SUM(tokens), SUM(cost_nano_usd), SUM(cost_nano_usd IS NULL) "
            f"FROM calls WHERE ts >= ? GROUP BY {group} ORDER BY {group}",
            [since],
        )
        return [
            {
                by: name,
                "calls": calls,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "tokens": tokens,
                "cost_usd": None if unpriced else int(str(nano or 0)) / 1e9,
                "priced_cost_usd": int(str(nano or 0)) / 1e9,
                "unpriced_calls": unpriced,
            }
            for name, calls, prompt, completion, tokens, nano, unpriced in rows
        ]

    async def query(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Rows of a read-only query, run in a worker thread."""

        def run() -> list[tuple[object, ...]]:
            with self._thread_guard:
                return list(self._db.execute(sql, tuple(args)))

        async with self._lock:
            return await trio.to_thread.run_sync(run)

    async def aclose(self) -> None:
        """Commit what is still waiting (a writer cancelled while it queued), then close."""
        with trio.CancelScope(shield=True):
            async with self._lock:
                batch, self._pending = self._pending, []
                if batch:
                    await trio.to_thread.run_sync(self._write, batch)
                    self._committed += len(batch)
                await trio.to_thread.run_sync(self._db.close)
