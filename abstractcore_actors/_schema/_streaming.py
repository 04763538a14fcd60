"""`StreamingValidator`: `Validator` for the live partial tree of one streamed
answer (`_structured/_incremental.py`), in time proportional to what changed.

The tree is built in place and a closed container never changes again, so a
finished container is judged once (its problems kept by identity), and an
open one from the first child not yet judged: its earlier children are
finished and were judged at an earlier check. Checking the whole partial at
every chunk thus costs the open containers' new children and the path down
to the value in progress, not the answer so far. Same judgments as
`Validator.problems(value, complete=False)` (tests/structured compare them).

One per answer: the identities it keeps are those of that answer's tree,
alive as long as the tree is.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

from ._validator import Problem, Validator

_Key = tuple[int, int]  # (id of a container, id of its schema node)


class StreamingValidator(Validator):
    def __init__(self, root: Mapping[str, Any]) -> None:
        super().__init__(root)
        self._finished: dict[_Key, list[Problem]] = {}
        self._judged: dict[_Key, int] = {}  # an open container: its children judged so far

    def _check(
        self,
        value: object,
        schema: Mapping[str, Any],
        path: str,
        complete: bool,
        out: list[Problem],
    ) -> None:
        if not (complete and isinstance(value, dict | list)):
            super()._check(value, schema, path, complete, out)
            return
        key = (id(value), id(schema))
        found = self._finished.get(key)
        if found is None:
            found = []
            super()._check(value, schema, path, complete, found)
            self._finished[key] = found
        out.extend(found)

    def _array(
        self,
        value: list[Any],
        schema: Mapping[str, Any],
        path: str,
        complete: bool,
        out: list[Problem],
    ) -> None:
        items = schema.get("items")
        if complete or not isinstance(items, Mapping):
            super()._array(value, schema, path, complete, out)
            return
        key = (id(value), id(schema))
        start, last, before = self._judged.get(key, 0), len(value) - 1, len(out)
        for i in range(start, len(value)):
            self._check(value[i], items, f"{path}[{i}]", i < last, out)
        if len(out) == before and last > start:
            self._judged[key] = last  # every child before the last is final and fits

    def _object(
        self,
        value: dict[str, Any],
        schema: Mapping[str, Any],
        path: str,
        complete: bool,
        out: list[Problem],
    ) -> None:
        if complete:
            super()._object(value, schema, path, complete, out)
            return
        key = (id(value), id(schema))
        start, last, before = self._judged.get(key, 0), len(value) - 1, len(out)
        for i, (name, item) in enumerate(islice(value.items(), start, None), start):
            self._field(name, item, schema, path, i < last, out)
        if len(out) == before and last > start:
            self._judged[key] = last
