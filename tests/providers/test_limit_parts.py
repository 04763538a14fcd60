"""The parts that keep an answer within its limits, as values: the bounded
inflater, the SSE line splitter's bound, the SDK guard's event meter and
how its errors are found behind the SDKs' own."""

from __future__ import annotations

import json
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors._providers._adapter import ProviderConfig
from abstractcore_actors._providers._httpx_guard import _Events, guard_failure
from abstractcore_actors._providers._inflate import STEP, Inflater
from abstractcore_actors._providers._limits import LimitExceeded, Limits
from abstractcore_actors._providers._sse import LineSplitter
from abstractcore_actors._providers._transport import TransportCutShort, TransportLimit
from abstractcore_actors.testing._hostile import gzip_bomb

MiB = 1024 * 1024


def test_the_inflater_hands_out_one_bounded_step_at_a_time() -> None:
    bomb = b"".join(gzip_bomb(64 * MiB, suffix=b"{}"))
    inflater = Inflater("gzip", Limits(max_decompression_ratio=10_000))
    first = inflater.decode(bomb)  # all 64 KB of it at once
    assert len(first) == STEP and inflater.pending
    total = len(first)
    while inflater.pending:
        step = inflater.decode(b"")
        assert len(step) <= STEP
        total += len(step)
    total += len(inflater.finish())
    assert total == 64 * MiB + 2


def test_a_bomb_passes_the_ratio_limit_after_the_floor() -> None:
    inflater = Inflater("gzip", Limits())
    bomb = b"".join(gzip_bomb(64 * MiB))
    with pytest.raises(TransportLimit, match="max_decompression_ratio=100") as info:
        inflater.decode(bomb)
        while inflater.pending:
            inflater.decode(b"")
    assert info.value.limit == "max_decompression_ratio"
    assert inflater.decoded <= 2 * MiB  # refused just past the 1 MiB floor


def test_ordinary_compressed_json_is_inflated_whole() -> None:
    body = json.dumps({"choices": [{"message": {"content": "word " * 500_000}}]}).encode()
    packed = zlib.compress(body, wbits=16 + zlib.MAX_WBITS)
    inflater = Inflater("gzip", Limits(max_decompression_ratio=5000))
    out = [inflater.decode(packed[i : i + 4096]) for i in range(0, len(packed), 4096)]
    while inflater.pending:
        out.append(inflater.decode(b""))
    assert b"".join(out) + inflater.finish() == body


def test_a_cut_or_unknown_encoding_is_cut_short() -> None:
    with pytest.raises(TransportCutShort, match="not asked for"):
        Inflater("br", Limits())
    inflater = Inflater("gzip", Limits())
    inflater.decode(zlib.compress(b"x" * 1000, wbits=31)[:20])
    with pytest.raises(TransportCutShort, match="ends before"):
        inflater.finish()


@given(cuts=st.lists(st.integers(0, 120), max_size=6), limit=st.integers(1, 50))
def test_the_line_splitter_refuses_exactly_the_lines_over_its_limit(
    cuts: list[int], limit: int
) -> None:
    body = b"data: 1\n\ndata: " + b"x" * 30 + b"\r\n: comment\r" + b"y" * 40 + b"\n"
    lines = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    longest = max(len(line) for line in lines)
    splitter = LineSplitter(limit)
    start = 0
    try:
        for cut in [*sorted(set(cuts)), len(body)]:
            if start <= cut:
                splitter.feed(body[start:cut])
                start = cut
        splitter.flush()
    except TransportLimit as exc:
        assert exc.limit == "max_event_bytes"
        assert longest > limit
    else:
        assert longest <= limit


@given(cuts=st.lists(st.integers(0, 400), max_size=8))
def test_the_event_meter_sees_each_event_whatever_the_reads(cuts: list[int]) -> None:
    events = [b"event: a\ndata: " + b"[" * 20 + b"]" * 20, b"data: " + b"z" * 90, b"data: {}"]
    body = b"\n\n".join(events) + b"\n\n"
    for limits, broken in [
        (Limits(), None),
        (Limits(max_event_bytes=80), "max_event_bytes"),
        (Limits(max_json_depth=10), "max_json_depth"),
    ]:
        meter = _Events(limits)
        start = 0
        try:
            for cut in [*sorted(set(cuts)), len(body)]:
                if start <= cut:
                    meter.feed(body[start:cut])
                    start = cut
            meter.end()
        except TransportLimit as exc:
            assert exc.limit == broken
        else:
            assert broken is None


def test_what_the_guard_raises_is_found_behind_the_sdks_wrapping() -> None:
    config = ProviderConfig(provider="openai", model="m", limits=Limits(max_json_depth=50))
    breach = TransportLimit("max_body_bytes", "too big")
    try:
        try:
            raise breach
        except TransportLimit as exc:
            raise RuntimeError("an SDK's connection error") from exc
    except RuntimeError as wrapped:
        found = guard_failure(wrapped, config)
    assert isinstance(found, LimitExceeded) and found.limit == "max_body_bytes"
    # the fallback: an SDK's own json.loads gave out first
    deep = guard_failure(RecursionError("maximum recursion depth exceeded"), config)
    assert isinstance(deep, LimitExceeded) and "max_json_depth=50" in str(deep)
    assert guard_failure(ValueError("unrelated"), config) is None
