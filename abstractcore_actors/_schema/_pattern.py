"""JSON schema `pattern`, in RE2: a regex that comes with a request (a
response_format, an MCP server's tool schema) is run on what a model wrote,
so it must not be able to backtrack for minutes, as Python's `re` can on
`(a+)+$`. RE2 matches in time linear in the text, and refuses what it
cannot do so: lookarounds and backreferences (JSON Schema's ECMA-262 dialect
has them), which `pattern_problem` names so the caller can rewrite them.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

# A compiled program's memory bound: a pattern past it (a{1000}{1000}) is refused.
_MAX_MEM = 8 << 20


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a bad pattern is our error to report, not stderr noise
    options.never_capture = True  # only "does it match": no groups to keep
    options.max_mem = _MAX_MEM
    return options


@functools.lru_cache(maxsize=512)  # a memo of a pure function: the same schema, again and again
def _compiled(pattern: str) -> Any:
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        said = exc.args[0] if exc.args else exc
        return said.decode(errors="replace") if isinstance(said, bytes) else str(said)


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be checked (RE2's words), or None when it can."""
    compiled = _compiled(pattern)
    if not isinstance(compiled, str):
        return None
    return (
        f"is not a regular expression this validator runs ({compiled}); it uses RE2, "
        "which has no lookarounds or backreferences, so it never takes more than linear time"
    )


def matches(pattern: str, text: str) -> bool | None:
    """Whether `text` has a match of `pattern` anywhere (JSON Schema's rule:
    anchor it with ^...$ for the whole string); None when it cannot be run."""
    compiled = _compiled(pattern)
    if isinstance(compiled, str):
        return None
    return compiled.search(text) is not None
