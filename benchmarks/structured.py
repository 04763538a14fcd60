"""Structured output: what progressive validation saves, and what it costs per chunk.

Both sides of every ratio run in this process, interleaved, on the fake
OpenAI server over real loopback HTTP.

Targets (issue 9):
- an answer whose invalid field comes in its first 20%: tokens and time with
  progressive validation (the stream stopped at that field) against
  validate-at-end (the whole answer read, then parsed): ratio <= 0.3
  (ideal: the fraction of the answer before the field, here about 0.1);
- parsing overhead per chunk: µs per chunk of `stream_structured` against
  plain streaming of the same answer (a ratio, target <= 1.5; issue 21);
- (issue 21) the parser alone: the incremental parser and validator beside
  the old ways (re-parsing the whole text at every chunk, or at every chunk
  that may end a value), on a ~500- and a ~5,000-chunk answer; per chunk,
  the large one within 1.3x of the small one (linear time).
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import attrs
import trio

from abstractcore_actors import LLM, open_runtime
from abstractcore_actors._schema import StreamingValidator
from abstractcore_actors._structured._incremental import IncrementalJSON
from abstractcore_actors._structured._partial import parse_partial
from abstractcore_actors._structured._response_model import response_model
from abstractcore_actors._structured._sequential import judge
from abstractcore_actors.structured import StructuredOutputError, stream_structured
from abstractcore_actors.testing import Reply, open_fake_openai_server

REPEATS = 5
LATENCY = 0.001  # s between chunks: a fast model, 1,000 tokens/s


@attrs.frozen
class Item:
    name: str
    count: int


@attrs.frozen
class Order:
    customer: str
    note: str
    priority: int
    items: list[Item]


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _answer(*, bad: bool, items: int = 60) -> str:
    data: dict[str, Any] = {
        "customer": "Ada Lovelace",
        "note": "leave it at the door, " * 20,
        "priority": "urgent" if bad else 1,  # the invalid field, at about 15%
        "items": [{"name": f"widget number {i}", "count": i} for i in range(items)],
    }
    return json.dumps(data)


async def _progressive(llm: LLM) -> tuple[int, float]:
    start = time.perf_counter()
    async with stream_structured(llm, "Order?", response_model=Order, max_attempts=1) as s:
        try:
            await s.result()
        except StructuredOutputError as exc:
            [attempt] = exc.attempts
            assert attempt.aborted_after_chunks is not None
            return attempt.aborted_after_chunks, time.perf_counter() - start
    raise AssertionError("the invalid answer was accepted")


async def _at_end(llm: LLM, model: Any) -> tuple[int, float]:
    start = time.perf_counter()
    chunks = 0
    async with llm.stream("Order?") as s:
        async for _ in s:
            chunks += 1
        text = s.response().content
    _, problems = judge(model, text)
    assert problems
    return chunks, time.perf_counter() - start


async def early_abort() -> None:
    bad = _answer(bad=True)
    where = bad.index('"items"') / len(bad)  # where "priority" is known to be finished
    model = response_model(Order)
    reply = Reply(chunks=_pieces(bad), token_latency=LATENCY)
    async with open_fake_openai_server(default=reply) as server, open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url, max_retries=0)
        tokens: list[float] = []
        times: list[float] = []
        for _ in range(REPEATS):
            p_chunks, p_time = await _progressive(llm)
            e_chunks, e_time = await _at_end(llm, model)
            tokens.append(p_chunks / e_chunks)
            times.append(p_time / e_time)
    t, s = statistics.median(tokens), statistics.median(times)
    print(f"invalid field at {where:.0%} of a {len(_pieces(bad))}-chunk answer")
    for what, ratio in (("tokens", t), ("time  ", s)):
        print(
            f"  {what} progressive / validate-at-end: {ratio:.3f}  "
            f"(ideal {where:.2f}, target <= 0.3) {_ok(ratio <= 0.3)}"
        )


async def overhead() -> None:
    good = _answer(bad=False, items=300)
    pieces = _pieces(good)
    reply = Reply(chunks=pieces)
    async with open_fake_openai_server(default=reply) as server, open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url, max_retries=0)
        plain: list[float] = []
        checked: list[float] = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            async with llm.stream("Order?") as s:
                async for _ in s:
                    pass
            plain.append(time.perf_counter() - start)
            start = time.perf_counter()
            async with stream_structured(llm, "Order?", response_model=Order) as st:
                await st.result()
            checked.append(time.perf_counter() - start)
    p, c = statistics.median(plain), statistics.median(checked)
    n = len(pieces)
    print(f"a valid {n}-chunk answer ({len(good)} characters), streamed")
    print(f"  plain streaming:       {p / n * 1e6:7.1f} µs/chunk")
    print(f"  stream_structured:     {c / n * 1e6:7.1f} µs/chunk  (+{(c - p) / n * 1e6:.1f} µs)")
    print(
        f"  ratio structured / plain: {c / p:.2f}  (ideal 1.0, target <= 1.5) {_ok(c / p <= 1.5)}"
    )


class CompletionGate:
    """The gate stream_structured used before issue 21: re-parse only after a
    piece that may end a value (kept here as a baseline)."""

    def __init__(self) -> None:
        self._in_string = False
        self._escaped = False
        self.depth = 0  # of objects and lists, once the JSON started
        self.closed = False  # the outermost value has ended

    def feed(self, piece: str) -> bool:
        """Take the next piece of the text; True when a value may have ended."""
        opened = False
        for char in piece:
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif char == "\\":
                    self._escaped = True
                elif char == '"':
                    self._in_string, opened = False, True
            elif char == '"':
                self._in_string, opened = True, True
            elif char in "{[":
                self.depth += 1
            elif char in "}]":
                self.depth -= 1
                self.closed = self.closed or self.depth == 0
                opened = True
            elif char == ",":
                opened = True
        return opened


def _parse_every_chunk(pieces: list[str], model: Any) -> int:
    text, parses = "", 0
    for piece in pieces:
        text += piece
        partial = parse_partial(text)
        parses += 1
        if isinstance(partial, dict):
            model.problems(partial, complete=False)
    return parses


def _parse_gated(pieces: list[str], model: Any) -> int:
    text, parses, gate = "", 0, CompletionGate()
    for piece in pieces:
        text += piece
        if gate.feed(piece):
            partial = parse_partial(text)
            parses += 1
            if isinstance(partial, dict):
                model.problems(partial, complete=False)
    return parses


def _parse_incremental(pieces: list[str], model: Any) -> int:
    """What stream_structured does per piece: feed, and on a value's start or
    end judge the partial (only what changed) and take a snapshot."""
    parser, checks = IncrementalJSON(), 0
    validator = StreamingValidator(model.schema)
    for piece in pieces:
        if parser.feed(piece) and parser.usable:
            assert parser.root is not None
            parser.refresh()
            validator.problems(parser.root, complete=False)
            parser.snapshot()
            checks += 1
    return checks


def _timed(parse: Any, pieces: list[str], model: Any) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        count = parse(pieces, model)
        times.append(time.perf_counter() - start)
    return statistics.median(times) / len(pieces), count


def parser_alone() -> None:
    model = response_model(Order)
    print("the parser alone (no network), µs per chunk:")
    per_chunk: dict[int, float] = {}
    for items in (22, 274):  # about 500 and 5,000 chunks
        # long string values: most chunks cannot end a value
        text = _answer(bad=False, items=items).replace("widget number", "w" * 40)
        pieces = _pieces(text)
        n = len(pieces)
        every, n_every = _timed(_parse_every_chunk, pieces, model)
        gated, n_gated = _timed(_parse_gated, pieces, model)
        incremental, n_checks = _timed(_parse_incremental, pieces, model)
        per_chunk[n] = incremental
        print(
            f"  {n:5d} chunks: re-parse every chunk {every * 1e6:7.1f} ({n_every} parses), "
            f"gated re-parse {gated * 1e6:6.1f} ({n_gated}), "
            f"incremental {incremental * 1e6:5.1f} ({n_checks} checks)"
        )
    (small, a), (large, b) = sorted(per_chunk.items())
    print(
        f"  incremental per chunk, {large} / {small} chunks: {b / a:.2f}  "
        f"(linear: target <= 1.3) {_ok(b / a <= 1.3)}"
    )


async def main() -> None:
    await early_abort()
    await overhead()
    parser_alone()


if __name__ == "__main__":
    trio.run(main)
