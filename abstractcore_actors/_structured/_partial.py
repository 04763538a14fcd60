"""Reading JSON out of a model's text: whole, or as much as has arrived.

Prompted models often wrap JSON in ``` fences or add a word before it; we
take the text from the first `{` (after an opening fence) to the end, and
drop a closing fence.

An answer nested deeper than `_json_depth.DEFAULT_MAX_DEPTH` is not JSON
here (NotJSON, a validation failure that the model is told about): deeper
values would exhaust the recursion of the validator that checks them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jiter

from .. import _json_depth

_OPEN_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*")
_CLOSE_FENCE = re.compile(r"\s*```\s*$")
# A number or literal still being written at the very end (`12` may become
# `123`, `tru` is not yet `true`): left out of a partial until it is done.
# Inside a string this can only cut the partial string shorter, which is safe.
_OPEN_SCALAR = re.compile(r"(?<=[:\[,])\s*[-+0-9.eEtrufalsn]+\Z")  # \Z: not before a newline


class NotJSON(Exception):
    """The text holds no JSON value (the message says why)."""


def json_text(text: str) -> str:
    """The JSON part of a model's answer: fences and chatter around it removed."""
    body = _OPEN_FENCE.sub("", text, count=1)
    start = body.find("{")
    if start > 0 and not body[:start].strip().startswith("["):
        body = body[start:]
    return _CLOSE_FENCE.sub("", body).strip()


def parse_complete(text: str) -> Any:
    """The whole answer's JSON value; raises NotJSON."""
    body = json_text(text)
    if not body:
        raise NotJSON("the answer is empty; it must be a JSON object")
    try:
        return _json_depth.loads(body)
    except _json_depth.TooDeep as exc:
        raise NotJSON(f"the answer's JSON is {exc}; keep it shallower") from None
    except json.JSONDecodeError as exc:
        raise NotJSON(f"the answer is not valid JSON ({exc})") from None


def parse_partial(text: str) -> Any | None:
    """What the JSON received so far says, or None when nothing usable arrived yet.

    Every value in the result is either finished or (a string) a prefix of
    what it will become. It re-reads the whole text: `stream_structured`
    uses `_incremental.IncrementalJSON` instead, which this is the reference
    for (tests/structured/test_incremental.py) and the baseline of
    (benchmarks/structured.py)."""
    body = _OPEN_FENCE.sub("", text, count=1)
    start = body.find("{")
    if start < 0:
        return None
    body = _OPEN_SCALAR.sub("", body[start:].split("```", 1)[0])
    if _json_depth.deeper_than(body, _json_depth.DEFAULT_MAX_DEPTH):
        return None  # the whole answer will be refused (parse_complete)
    try:
        return jiter.from_json(body.encode(), partial_mode="trailing-strings")
    except ValueError:
        return None
