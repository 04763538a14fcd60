"""`Partial[T]`: a typed, read-only view of a partial answer, for UIs that
render fields as they finish.

    async for partial in stream:          # Partial[Person]
        if partial.is_complete("name"):
            show_name(partial.name)       # final: it will not change
        partial.pets                      # a list of Partial[Pet] views so far
        partial.to_dict()                 # the plain JSON snapshot

A field not yet started reads as None (use `"name" in partial` to tell it
from a JSON null); a name the schema does not have raises AttributeError,
so a typo fails at once instead of rendering nothing forever. Enum fields
read as the JSON value (a string), not the Enum member, until the answer is
complete: a value in progress may be a prefix of no member yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar, final

from ._incremental import Snapshot

T = TypeVar("T")


@final
class Partial(Generic[T]):
    """A snapshot of an object still being streamed (see the module docstring)."""

    __slots__ = ("_defs", "_done", "_found", "_schema", "_snapshot")

    def __init__(
        self,
        data: Mapping[str, Any] | Snapshot,
        schema: Mapping[str, Any],
        *,
        done: bool,
        defs: Mapping[str, Any] | None = None,
    ) -> None:
        # a stream's snapshot becomes plain data only when the partial is read:
        # a partial nobody looks at costs O(depth), not a copy of the answer
        self._snapshot = data if isinstance(data, Snapshot) else None
        self._found = None if isinstance(data, Snapshot) else data
        self._defs = defs if defs is not None else schema.get("$defs", {})
        self._schema = _resolve(schema, self._defs)
        self._done = done

    @property
    def _data(self) -> Mapping[str, Any]:
        if self._found is None:
            assert self._snapshot is not None
            self._found = self._snapshot.value()
        return self._found

    @property
    def done(self) -> bool:
        """Whether this object is closed: every field in it is final."""
        return self._done

    def is_complete(self, field: str) -> bool:
        """Whether `field` has its final value (a later field started or the object closed)."""
        self._check_name(field)
        if field not in self._data:
            return False
        return self._done or field != next(reversed(list(self._data)))

    def to_dict(self) -> dict[str, Any]:
        """The JSON snapshot: every value final except the last one, still growing."""
        return _plain(self._data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        self._check_name(name)
        if name not in self._data:
            return None
        return self._wrap(self._data[name], self._field_schema(name), self.is_complete(name))

    def __contains__(self, field: object) -> bool:
        return field in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Partial):
            return self._data == other._data and self._done == other._done
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        title = self._schema.get("title", "Partial")
        state = "done" if self._done else "growing"
        return f"<Partial {title} {state} {self.to_dict()!r}>"

    def _check_name(self, name: str) -> None:
        props = self._schema.get("properties")
        closed = self._schema.get("additionalProperties", True) is False
        if props is not None and closed and name not in props:
            known = ", ".join(props) or "none"
            raise AttributeError(f"the response model has no field {name!r} (fields: {known})")

    def _field_schema(self, name: str) -> Mapping[str, Any]:
        props = self._schema.get("properties") or {}
        extra = self._schema.get("additionalProperties")
        found = props.get(name)
        if isinstance(found, Mapping):
            return found
        return extra if isinstance(extra, Mapping) else {}

    def _wrap(self, value: Any, schema: Mapping[str, Any], done: bool) -> Any:
        schema = _resolve(schema, self._defs)
        if isinstance(value, dict):
            return Partial(value, _object_option(schema), done=done, defs=self._defs)
        if isinstance(value, list):
            found = schema.get("items")
            items: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
            last = len(value) - 1
            return [self._wrap(v, items, done or i < last) for i, v in enumerate(value)]
        return value


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(defs.get(ref.removeprefix("#/$defs/"), {}), defs)
    return schema


def _object_option(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The object branch of an `anyOf` (e.g. `Pet | None`), else the schema itself."""
    for option in schema.get("anyOf") or schema.get("oneOf") or ():
        if isinstance(option, Mapping) and (
            option.get("type") == "object" or "properties" in option or "$ref" in option
        ):
            return option
    return schema


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
