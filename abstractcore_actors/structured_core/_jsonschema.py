"""A small JSON-schema validator: the subset structured output needs, with paths.

Keywords: type, properties, required, additionalProperties, items, enum,
const, anyOf/oneOf, $ref into `#/$defs` or `#/definitions`. Others are
ignored (so a schema using them still validates what it can).

`complete=False` checks a value that is still being streamed: only what
can no longer change is judged. In an object every key but the last is
finished (the last one's value may still grow), in an array every item but
the last; a string in progress must be a prefix of some enum value; and
`required` waits for the object to close.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            results: list[list[Problem]] = []
            for option in options:
                found: list[Problem] = []
                self._check(value, option, path, complete, found)
                if not found:
                    return
                results.append(found)
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
        if "const" in schema and complete and value != schema["const"]:
            out.append((where, f"must be {_show(schema['const'])}, got {_show(value)}"))
        if "enum" in schema:
            allowed = list(schema["enum"])
            if complete and value not in allowed:
                out.append((where, f"must be one of {_show(allowed)}, got {_show(value)}"))
            elif (
                not complete
                and isinstance(value, str)
                and not any(isinstance(a, str) and a.startswith(value) for a in allowed)
            ):
                out.append((where, f"must be one of {_show(allowed)}, got {_show(value)}..."))
        if isinstance(value, dict):
            self._object(value, schema, path, complete, out)
        elif isinstance(value, list):
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
        properties: Mapping[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        keys = list(value)
        for i, key in enumerate(keys):
            done = complete or i < len(keys) - 1
            if key in properties:
                self._check(value[key], properties[key], _join(path, key), done, out)
            elif extra is False:
                known = ", ".join(properties) or "none"
                out.append((_join(path, key), f"unknown field (known fields: {known})"))
            elif isinstance(extra, Mapping):
                self._check(value[key], extra, _join(path, key), done, out)
        if complete:
            for name in schema.get("required") or ():
                if name not in value:
                    out.append((_join(path, name), "missing (it is required)"))


def format_problems(problems: list[Problem], limit: int = 8) -> str:
    lines = [f"- {path}: {problem}" for path, problem in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"- ... and {len(problems) - limit} more")
    return "\n".join(lines)
