"""`IncrementalJSON`: the partial JSON object of a model's answer, built as
the text arrives, in work proportional to each piece.

Re-parsing the whole text at every chunk (`_partial.parse_partial`, jiter's
partial mode) costs O(answer) per chunk, O(answer²) per answer. Here the
state of the parse carries from one piece to the next: the open containers
(built in place: a dict or list, once closed, never changes again), the key
and the string being read, the number or literal being read. The visible
partial is what `parse_partial` would give for the same text (tests/
structured check it over every split of every document hypothesis draws):

- the JSON starts at the first `{` (chatter and an opening fence before it
  are skipped) and ends with the object it opens (a closing fence after it
  is ignored);
- a number or literal appears once something ends it (`12` may become
  `123`); a key once its value has begun;
- a string appears as the prefix read so far (an escape still incomplete
  left out), keys excepted;
- an answer nested deeper than the limit has no partial (parse_complete
  refuses it).

`snapshot()` is O(depth): the open containers with their sizes at that
moment. A `Snapshot` is materialized into plain values only when read.
"""

from __future__ import annotations

import json
import re
from typing import Any, final

from .. import _json_depth

_STRING_STOP = re.compile(r'["\\]')
_SCALAR_CHARS = frozenset("-+0123456789.eEtrufalsn")
_WHITESPACE = frozenset(" \t\r\n")
_LITERALS = {"true": True, "false": False, "null": None}
_ESCAPE = re.compile(r'\\(?:u[0-9a-fA-F]{4}|["\\/bfnrt])')


class NotJSONError(Exception):
    """The text stopped being JSON (the final parse says where)."""


@final
class _Frame:
    __slots__ = ("container", "expect", "key", "obj")

    def __init__(self, container: dict[str, Any] | list[Any]) -> None:
        self.container = container
        self.obj = isinstance(container, dict)
        self.key: str | None = None
        # object: "key" | "colon" | "value" | "next"; array: "value" | "next"
        # ("first": a value or the closing bracket, right after the opening one)
        self.expect = "first"


@final
class Snapshot:
    """The partial object at one moment: call `value()` for plain data."""

    __slots__ = ("_spine", "_tail", "_value")

    def __init__(self, spine: list[tuple[Any, int]], tail: str | None) -> None:
        self._spine = spine  # (open container, its size then), outermost first
        self._tail = tail  # the string in progress, the innermost container's last value
        self._value: Any = None

    def value(self) -> dict[str, Any]:
        if self._value is None:
            child: Any = self._tail
            replace = self._tail is not None
            for container, size in reversed(self._spine):
                if isinstance(container, dict):
                    copy: Any = dict(list(container.items())[:size])
                    if replace and copy:
                        copy[next(reversed(copy))] = child
                else:
                    copy = container[:size]
                    if replace and copy:
                        copy[-1] = child
                child, replace = copy, True
            self._value = child
        return self._value


@final
class IncrementalJSON:
    """Feed the answer's text piece by piece; `root` is the live partial
    object (None until its `{`), `closed` once it has ended."""

    def __init__(self, max_depth: int = _json_depth.DEFAULT_MAX_DEPTH) -> None:
        self.root: dict[str, Any] | None = None
        self.closed = False
        self.too_deep = False
        self._max_depth = max_depth
        self._stack: list[_Frame] = []
        self._string: list[str] | None = None  # the string being read, decoded
        self._raw = ""  # its undecoded tail: an escape not yet whole
        self._string_is_key = False
        self._scalar: list[str] | None = None
        self._broken = False
        self.version = 0  # moves whenever the partial may have changed

    @property
    def usable(self) -> bool:
        """Whether there is a partial to show (the object began, within the depth)."""
        return self.root is not None and not self.too_deep and not self._broken

    def feed(self, piece: str) -> bool:
        """Take the next piece; True when a value began or ended in it (the
        moments a partial may differ in more than a growing string)."""
        if self.closed or self._broken or self.too_deep:
            return False
        moved = False
        i, end = 0, len(piece)
        if self.root is None:
            i = piece.find("{")
            if i < 0:
                return False
            self.root = {}
            self._stack.append(_Frame(self.root))
            i += 1
            moved = True
        try:
            while i < end and not self.closed:
                if self._string is not None:
                    i, done = self._read_string(piece, i)
                    if done:
                        moved = True
                    continue
                char = piece[i]
                if self._scalar is not None:
                    if char in _SCALAR_CHARS:
                        self._scalar.append(char)
                        i += 1
                        continue
                    self._end_scalar()
                    moved = True
                    continue  # the same char again, now as structure
                i += 1
                if char in _WHITESPACE:
                    continue
                moved = self._structure(char) or moved
        except (NotJSONError, ValueError):
            self._broken = True  # the final parse reports it, with its position
        if moved or (self._string is not None and not self._string_is_key):
            self.version += 1
        return moved

    def snapshot(self) -> Snapshot:
        """The partial now, in O(depth); materialized by `Snapshot.value()`."""
        if self.closed:  # the whole object: it will not change again
            assert self.root is not None
            return Snapshot([(self.root, len(self.root))], None)
        tail = None
        if self._string is not None and not self._string_is_key:
            tail = self._prefix()
        return Snapshot([(f.container, len(f.container)) for f in self._stack], tail)

    def refresh(self) -> None:
        """Put the string in progress into the live tree (for the validator to
        judge its prefix); the string's final value replaces it later."""
        if self._string is not None and not self._string_is_key and self._stack:
            self._attach(self._prefix(), replace=True)

    # -- the state machine -------------------------------------------------

    def _structure(self, char: str) -> bool:
        frame = self._stack[-1]
        expect = frame.expect
        if frame.obj:
            if expect in ("first", "key") and char == '"':
                self._start_string(key=True)
                return False
            if expect == "colon" and char == ":":
                frame.expect = "value"
                return False
            if expect in ("first", "next") and char == "}":
                return self._close()
            if expect == "next" and char == ",":
                frame.expect = "key"
                return True
            if expect == "value":
                return self._start_value(char)
            raise NotJSONError(char)
        if expect in ("first", "next") and char == "]":
            return self._close()
        if expect == "next" and char == ",":
            frame.expect = "value"
            return True
        if expect in ("first", "value"):
            return self._start_value(char)
        raise NotJSONError(char)

    def _start_value(self, char: str) -> bool:
        if char == '"':
            self._start_string(key=False)
            self._attach("", replace=False)  # a string shows from its opening quote
            return True
        if char in "{[":
            container: dict[str, Any] | list[Any] = {} if char == "{" else []
            self._attach(container, replace=False)
            self._stack.append(_Frame(container))
            if len(self._stack) > self._max_depth:
                self.too_deep = True
            return True
        if char in _SCALAR_CHARS:
            self._scalar = [char]
            return False
        raise NotJSONError(char)

    def _attach(self, value: Any, *, replace: bool) -> None:
        """Put `value` as the innermost container's next value (or, `replace`,
        over its last one: a string's final text over its prefix)."""
        frame = self._stack[-1]
        if frame.obj:
            assert frame.key is not None
            frame.container[frame.key] = value  # type: ignore[call-overload]
        elif replace:
            frame.container[-1] = value  # type: ignore[index]
        else:
            frame.container.append(value)  # type: ignore[union-attr]
        frame.expect = "next"

    def _close(self) -> bool:
        self._stack.pop()
        if not self._stack:
            self.closed = True
        return True

    def _end_scalar(self) -> None:
        assert self._scalar is not None
        token = "".join(self._scalar)
        self._scalar = None
        if token in _LITERALS:
            value: Any = _LITERALS[token]
        elif any(c in token for c in ".eE"):
            value = float(token)
        else:
            value = int(token)
        self._attach(value, replace=False)

    def _start_string(self, *, key: bool) -> None:
        self._string = []
        self._raw = ""
        self._string_is_key = key

    def _read_string(self, piece: str, i: int) -> tuple[int, bool]:
        """Read string text from piece[i:]; (where reading stopped, whether the
        string ended)."""
        pieces = self._string
        assert pieces is not None
        end = len(piece)
        while i < end:
            if self._raw:  # an escape begun: `\` and one char, or `\u` and four hex digits
                need = 6 if self._raw[1:2] == "u" else 2
                take = piece[i : i + need - len(self._raw)]
                self._raw += take
                i += len(take)
                if len(self._raw) == 2 and self._raw[1] == "u":
                    continue  # now four hex digits are needed
                if len(self._raw) < need:
                    return i, False
                if not _ESCAPE.fullmatch(self._raw):
                    raise NotJSONError(self._raw)
                _append_decoded(pieces, json.loads(f'"{self._raw}"'))
                self._raw = ""
                continue
            stop = _STRING_STOP.search(piece, i)
            if stop is None:
                pieces.append(piece[i:])
                return end, False
            if stop.start() > i:
                pieces.append(piece[i : stop.start()])
            i = stop.end()
            if stop.group() == '"':
                self._end_string()
                return i, True
            self._raw = "\\"
        return i, False

    def _end_string(self) -> None:
        assert self._string is not None
        text = "".join(self._string)
        self._string = None
        if self._string_is_key:
            frame = self._stack[-1]
            frame.key = text
            frame.expect = "colon"
        else:
            self._attach(text, replace=True)

    def _prefix(self) -> str:
        """The string in progress as a partial shows it: a high surrogate
        still waiting for its low half left out."""
        assert self._string is not None
        text = "".join(self._string)
        return text[:-1] if text and "\ud800" <= text[-1] <= "\udbff" else text


def _append_decoded(pieces: list[str], char: str) -> None:
    """Append one decoded escape; a low surrogate joins the high one before it
    into the character they encode (as a whole-text parse gives)."""
    if "\udc00" <= char <= "\udfff" and pieces and "\ud800" <= pieces[-1][-1:] <= "\udbff":
        last = pieces.pop()
        pair = (last[-1] + char).encode("utf-16", "surrogatepass").decode("utf-16")
        pieces.append(last[:-1] + pair)
    else:
        pieces.append(char)
