"""A small JSON-schema validator: the subset structured output needs, with paths.

Keywords: type, properties, required, additionalProperties, items, enum,
const, anyOf, oneOf (exactly one), $ref into `#/$defs` or `#/definitions`, and the bounds
minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf,
minLength, maxLength, minItems, maxItems, uniqueItems, minProperties,
maxProperties (what pydantic's `Field(ge=..., max_length=...)` writes),
and `pattern`, run by RE2 in linear time (`_pattern.py`: a regex from a
request, run on a model's answer, must not backtrack for minutes; one RE2
cannot run is ignored here and refused by `schema_problem(checkable=True)`).
Others are ignored (so a schema using them still validates what it can).

`complete=False` checks a value that is still being streamed: only what
can no longer change is judged. In an object every key but the last is
finished (the last one's value may still grow), in an array every item but
the last; a string in progress must be a prefix of some enum value; and
`required` waits for the object to close. Bounds that a growing value can
still meet (a number's digits, minLength, minItems, uniqueItems,
minProperties, pattern) wait for it to finish; those it can only break further
(maxLength, maxItems, maxProperties) are judged at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ._pattern import matches

Problem = tuple[str, str]  # (path like "stops[2].city", what is wrong)

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
TYPE_NAMES = tuple(_TYPES)


def resolve_pointer(root: Mapping[str, Any], ref: str) -> object:
    """What a `$ref` points to, as the validator reads it: `#/a/b` walks `root`
    by keys (None when a step is missing); any other reference means `root`."""
    node: Any = root
    for part in ref.removeprefix("#/").split("/") if ref.startswith("#/") else ():
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return name == "boolean"
    if name == "integer" and isinstance(value, float):
        return value.is_integer()  # JSON Schema: 3.0 is an integer
    return isinstance(value, _TYPES.get(name, ()))


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Validator:
    """Validates values against one root schema (which holds the `$defs`)."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root

    def problems(self, value: object, *, complete: bool = True) -> list[Problem]:
        out: list[Problem] = []
        self._check(value, self.root, "", complete, out)
        return out

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            node = resolve_pointer(self.root, str(schema["$ref"]))
            schema = node if isinstance(node, Mapping) else {}
            seen += 1
        return schema

    def _check(
        self,
        value: object,
        schema: Mapping[str, Any],
        path: str,
        complete: bool,
        out: list[Problem],
    ) -> None:
        schema = self._resolve(schema)
        where = path or "the answer"
        one_of = "oneOf" in schema and not schema.get("anyOf")
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            results: list[list[Problem]] = []
            for option in options:
                found: list[Problem] = []
                self._check(value, option, path, complete, found)
                if not found and not (one_of and complete):
                    return  # anyOf (or a partial value): one fitting option is enough
                results.append(found)
            fitting = sum(1 for found in results if not found)
            if fitting == 1:
                return
            if fitting > 1:  # oneOf: exactly one, as JSON Schema says
                out.append((where, f"fits {fitting} of the oneOf options; it must fit exactly one"))
                return
            # Report the option that came closest (fewest problems).
            best = results[0]
            for found in results:
                if len(found) < len(best):
                    best = found
            out.extend(best)
            return
        types = schema.get("type")
        names = [types] if isinstance(types, str) else list(types or [])
        if names and not any(_is_type(value, n) for n in names):
            out.append(
                (where, f"expected {' or '.join(names)}, got {json_type(value)} {_show(value)}")
            )
            return
        if "const" in schema and complete and not _same(value, schema["const"]):
            out.append((where, f"must be {_show(schema['const'])}, got {_show(value)}"))
        if "enum" in schema:
            allowed = list(schema["enum"])
            if complete and not any(_same(value, a) for a in allowed):
                out.append((where, f"must be one of {_show(allowed)}, got {_show(value)}"))
            elif (
                not complete
                and isinstance(value, str)
                and not any(isinstance(a, str) and a.startswith(value) for a in allowed)
            ):
                out.append((where, f"must be one of {_show(allowed)}, got {_show(value)}..."))
        _bounds(value, schema, where, complete, out)
        pattern = schema.get("pattern")
        # judged once the string is whole: a prefix may not match yet
        whole = complete and isinstance(value, str) and isinstance(pattern, str)
        if whole and matches(pattern, value) is False:  # type: ignore[arg-type]
            out.append((where, f"must match the pattern {_show(pattern)}, got {_show(value)}"))
        if isinstance(value, dict):
            self._object(value, schema, path, complete, out)
        elif isinstance(value, list):
            self._array(value, schema, path, complete, out)

    def _array(
        self,
        value: list[Any],
        schema: Mapping[str, Any],
        path: str,
        complete: bool,
        out: list[Problem],
    ) -> None:
        items = schema.get("items")
        if isinstance(items, Mapping):
            last = len(value) - 1
            for i, item in enumerate(value):
                self._check(item, items, f"{path}[{i}]", complete or i < last, out)

    def _object(
        self,
        value: dict[str, Any],
        schema: Mapping[str, Any],
        path: str,
        complete: bool,
        out: list[Problem],
    ) -> None:
        last = len(value) - 1
        for i, (key, item) in enumerate(value.items()):
            self._field(key, item, schema, path, complete or i < last, out)
        if complete:
            for name in schema.get("required") or ():
                if name not in value:
                    out.append((_join(path, name), "missing (it is required)"))

    def _field(
        self,
        key: str,
        value: object,
        schema: Mapping[str, Any],
        path: str,
        done: bool,
        out: list[Problem],
    ) -> None:
        """One field of an object: by its property, else additionalProperties."""
        properties: Mapping[str, Any] = schema.get("properties") or {}
        if key in properties:
            self._check(value, properties[key], _join(path, key), done, out)
            return
        extra = schema.get("additionalProperties", True)
        if extra is False:
            known = ", ".join(properties) or "none"
            out.append((_join(path, key), f"unknown field (known fields: {known})"))
        elif isinstance(extra, Mapping):
            self._check(value, extra, _join(path, key), done, out)


def _number(schema: Mapping[str, Any], key: str) -> float | None:
    bound = schema.get(key)
    if not isinstance(bound, int | float) or isinstance(bound, bool):
        return None
    try:
        return float(bound)
    except OverflowError:  # an int past a float's range: no bound we can hold
        return None


BOUNDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)
_BOUND_KEYWORDS = frozenset(BOUNDS)
_SIZES: tuple[tuple[type, str, str, str], ...] = (
    (str, "minLength", "maxLength", "characters"),
    (list, "minItems", "maxItems", "items"),
    (dict, "minProperties", "maxProperties", "fields"),
)


def _bounds(
    value: object, schema: Mapping[str, Any], where: str, complete: bool, out: list[Problem]
) -> None:
    """minimum .. maxProperties (see the module docstring)."""
    if schema.keys().isdisjoint(_BOUND_KEYWORDS):  # most nodes: this runs per chunk
        return
    if isinstance(value, int | float) and not isinstance(value, bool):
        if complete:
            _numeric(value, schema, where, out)
        return
    for kind, low, high, unit in _SIZES:
        if not isinstance(value, kind):
            continue
        size = len(value)  # type: ignore[arg-type]  # a str's len counts code points, as JSON Schema does
        least, most = _number(schema, low), _number(schema, high)
        if most is not None and size > most:
            out.append((where, f"has {size} {unit}, more than the {int(most)} allowed"))
        if complete and least is not None and size < least:
            out.append((where, f"has {size} {unit}, fewer than the {int(least)} required"))
    if complete and isinstance(value, list) and schema.get("uniqueItems") is True:
        seen: list[object] = []
        for i, item in enumerate(value):
            if any(_same(item, other) for other in seen):
                out.append((f"{where}[{i}]", f"repeats an earlier item {_show(item)}"))
                return
            seen.append(item)


def _same(a: object, b: object) -> bool:
    """JSON equality, deep: true is not 1 (Python says it is), 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | dict) or isinstance(b, list | dict):
        return False
    return a == b


def _numeric(value: int | float, schema: Mapping[str, Any], where: str, out: list[Problem]) -> None:
    checks = (
        ("minimum", lambda b: value >= b, ">="),
        ("maximum", lambda b: value <= b, "<="),
        ("exclusiveMinimum", lambda b: value > b, ">"),
        ("exclusiveMaximum", lambda b: value < b, "<"),
    )
    for key, holds, sign in checks:
        bound = _number(schema, key)
        if bound is not None and not holds(bound):
            out.append((where, f"must be {sign} {_show(schema[key])}, got {_show(value)}"))
    step = _number(schema, "multipleOf")
    if step is not None and step > 0 and not _multiple(value, step):
        out.append((where, f"must be a multiple of {_show(schema['multipleOf'])}"))


def _multiple(value: int | float, step: float) -> bool:
    try:
        ratio = value / step
    except OverflowError:  # a huge int: exact arithmetic instead
        return Fraction(value) % Fraction(step) == 0
    if not math.isfinite(ratio):
        return False
    return math.isclose(ratio, round(ratio), rel_tol=1e-9, abs_tol=1e-9)


def format_problems(problems: list[Problem], limit: int = 8) -> str:
    lines = [f"- {path}: {problem}" for path, problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"- ... and {len(problems) - limit} more")
    return "\n".join(lines)
