"""What checking JSON depth before parsing costs (`abstractcore_actors/_json_depth.py`).

For each kind of upstream JSON: µs to check its depth against the default
limit, µs to `json.loads` it, and the ratio. Target (issue 23): on the
common path (a streamed chunk, a chat answer) the check costs a small
fraction of the parse; a deep attack is refused in milliseconds.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable

from abstractcore_actors._json_depth import DEFAULT_MAX_DEPTH, deeper_than


def _micros(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e6


def _loads(text: bytes) -> object:
    try:
        return json.loads(text)
    except RecursionError:
        return None


def main() -> None:
    chunk = json.dumps(
        {
            "id": "chatcmpl-x",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": " word"}, "finish_reason": None}],
        }
    ).encode()
    answer = json.dumps(
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello " * 2000}}]}
    ).encode()
    vectors = [
        {"index": i, "embedding": base64.b64encode(os.urandom(1536 * 4)).decode()}
        for i in range(1000)
    ]
    embeddings = json.dumps({"data": vectors}).encode()
    rows = [{"index": i, "embedding": [0.1234567] * 1536} for i in range(300)]
    floats = json.dumps({"data": rows})
    cases = [
        ("streamed chunk", chunk, 20000),
        ("chat answer, 12 KB", answer, 2000),
        ("1000 base64 embeddings, 8 MB", embeddings, 5),
        ("300 float embeddings, 6 MB", floats.encode(), 5),
        ("attack: [ * 100,000", b"[" * 100_000 + b"]" * 100_000, 20),
    ]
    print(f"{'JSON':32} {'bytes':>10} {'check µs':>10} {'loads µs':>10} {'ratio':>7}")
    for name, text, repeats in cases:
        check = _micros(lambda text=text: deeper_than(text, DEFAULT_MAX_DEPTH), repeats)
        parse = _micros(lambda text=text: _loads(text), repeats)
        print(f"{name:32} {len(text):10} {check:10.1f} {parse:10.1f} {check / parse:7.2f}")


if __name__ == "__main__":
    main()
