"""JSON from outside (an upstream's answer, a model's text) parsed with a depth limit.

`json.loads` recurses once per nesting level and raises RecursionError at
the interpreter's recursion limit, minus however deep the caller's stack
already is: `[[[[...` 100,000 deep from a faulty or hostile upstream would
escape every `except ValueError` and crash the task (a provider actor).
Values that parse but nest a few hundred deep still break later recursive
code (the structured-output validator, pydantic, `json.dumps`). So text
from outside is checked against a clear limit before it is parsed.

The check costs little on the common path: a JSON text can only be nested
deeper than `limit` if it holds more than `limit` opening brackets, and two
`bytes.count` calls (C, a few GB/s) say so. Only a text with more brackets
than that (a long list of vectors, an attack) gets the exact scan, which is
linear and mostly in C too: strings are cut out (escapes first, then split
on quotes), every byte but brackets is deleted (`bytes.translate`), and the
running depth is `itertools.accumulate` over the few bytes left. Measured
by benchmarks/json_depth.py (check vs json.loads): a streamed chunk 0.3 vs
2.5 µs, a 12 KB chat answer 7 vs 9 µs, an 8 MB base64 embeddings answer 8
vs 6 ms; `[` * 100,000 is refused in 7 ms.
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Any

#: The default limit: far deeper than any chat answer, tool call or schema
#: (they nest a handful of levels), far shallower than the ~1,000 levels at
#: which Python's recursion gives out.
DEFAULT_MAX_DEPTH = 128

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


class TooDeep(ValueError):
    """JSON nested deeper than the limit (a ValueError, like any malformed JSON)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"JSON nested deeper than {limit} levels")


def _openers(data: bytes) -> int:
    return data.count(b"[") + data.count(b"{")


def deeper_than(data: bytes | str, limit: int) -> bool:
    """Whether the JSON text `data` nests objects and arrays more than `limit`
    deep (brackets inside strings do not count). Malformed text is measured
    as far as it goes: the parser will refuse it anyway."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if _openers(raw) <= limit:
        return False  # the common path: too few brackets to nest that deep
    if b"\\" in raw:
        # Drop escaped backslashes, then escaped quotes: every quote left
        # opens or closes a string.
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(raw.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    if _openers(outside) <= limit:
        return False
    return max(accumulate(map(_STEP.__getitem__, outside))) > limit


def loads(data: bytes | str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """`json.loads(data)`, refusing text nested deeper than `max_depth`.

    Raises TooDeep (a ValueError) for that, and json.JSONDecodeError (also a
    ValueError) for malformed JSON; never RecursionError."""
    if deeper_than(data, max_depth):
        raise TooDeep(max_depth)
    try:
        return json.loads(data)
    except RecursionError:
        # Only if the caller's own stack was already nearly exhausted.
        raise TooDeep(max_depth) from None
