"""Is a JSON schema one the validator (`_jsonschema.py`) can read? Checked before use.

`schema_problem(schema)` finds what would make the validator fail or judge
wrongly: a keyword whose value has the wrong JSON type (`required: 5`,
`enum: 5`, `anyOf: 5`, `type: ["string", 3]`, `properties: []`), a type name
it does not know, a `$ref` that does not resolve (or only leads to `$ref`s),
boolean schemas, nesting past MAX_DEPTH.

With `checkable=True` it also refuses every keyword the validator would
ignore (`allOf`, `format`-like typos...) and a `pattern` RE2 cannot run
(lookarounds, backreferences), and constraints next to a
`$ref` or an `anyOf`/`oneOf` (which the validator does not look at): a schema
that passes is one whose every constraint is checked. Annotations (ANNOTATIONS)
are allowed: they constrain nothing (`format` included, as in JSON Schema).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ._pattern import pattern_problem
from ._validator import BOUNDS, TYPE_NAMES, json_type, resolve_pointer

SchemaProblem = tuple[str, str]  # (path of the keyword, like "properties.age.required", what)

_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
MAX_DEPTH = 32
MAX_REF_CHAIN = 32
UNDERSTOOD = (
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "$ref",
    "$defs",
    "definitions",
    "pattern",
    *BOUNDS,
)
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "format",
        "deprecated",
        "readOnly",
        "writeOnly",
        "discriminator",
        "$schema",
        "$id",
        "$comment",
    }
)
_CONTAINERS = ("$defs", "definitions")
_LISTS = (list, tuple)  # JSON arrays, and tuples in schemas written in Python


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)  # an int past a float's range overflows here
    except OverflowError:
        return False


class _Found(Exception):
    def __init__(self, path: str, what: str) -> None:
        super().__init__(path, what)
        self.problem: SchemaProblem = (path, what)


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _got(value: object) -> str:
    return f"(got {json_type(value)})"


def schema_problem(schema: Mapping[str, Any], *, checkable: bool = False) -> SchemaProblem | None:
    """The first problem of `schema` (see the module docstring), or None."""
    try:
        _Walk(schema, checkable).node(schema, "", 0)
    except _Found as found:
        return found.problem
    return None


class _Walk:
    def __init__(self, root: Mapping[str, Any], checkable: bool) -> None:
        self.root = root
        self.checkable = checkable

    def node(self, schema: object, path: str, depth: int) -> None:
        where = path or "the schema"
        if isinstance(schema, bool):
            raise _Found(
                where, "must be a schema object: true/false schemas are not supported (use {})"
            )
        if not isinstance(schema, Mapping):
            raise _Found(where, f"must be a schema object {_got(schema)}")
        if depth > MAX_DEPTH:
            raise _Found(where, f"nests schemas deeper than {MAX_DEPTH} levels: use $defs")
        if self.checkable:
            self._only_checkable(schema, path)
        self._type(schema.get("type"), _at(path, "type"), "type" in schema)
        for key in ("title", "description"):
            if key in schema and not isinstance(schema[key], str):
                raise _Found(_at(path, key), f"must be a string {_got(schema[key])}")
        if "$ref" in schema:
            self._ref(schema["$ref"], _at(path, "$ref"))
        for key in ("properties", *_CONTAINERS):
            if key in schema:
                self._named(schema[key], _at(path, key), depth)
        if "pattern" in schema:
            self._pattern(schema["pattern"], _at(path, "pattern"))
        if "required" in schema:
            required = schema["required"]
            if not isinstance(required, _LISTS) or not all(isinstance(r, str) for r in required):
                raise _Found(
                    _at(path, "required"), f"must be a list of property names {_got(required)}"
                )
        if "additionalProperties" in schema:
            extra = schema["additionalProperties"]
            if not isinstance(extra, bool):
                self.node(extra, _at(path, "additionalProperties"), depth + 1)
        if "items" in schema:
            items = schema["items"]
            if isinstance(items, _LISTS):
                raise _Found(
                    _at(path, "items"),
                    "must be one schema for every item (tuple-style lists are not supported)",
                )
            self.node(items, _at(path, "items"), depth + 1)
        self._bounds(schema, path)
        if "enum" in schema:
            enum = schema["enum"]
            if not isinstance(enum, _LISTS) or not enum:
                raise _Found(_at(path, "enum"), f"must be a non-empty list of values {_got(enum)}")
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = schema[key]
                if not isinstance(options, _LISTS) or not options:
                    raise _Found(
                        _at(path, key), f"must be a non-empty list of schemas {_got(options)}"
                    )
                for i, option in enumerate(options):
                    self.node(option, f"{_at(path, key)}[{i}]", depth + 1)

    def _bounds(self, schema: Mapping[str, Any], path: str) -> None:
        for key in BOUNDS:
            if key not in schema:
                continue
            value = schema[key]
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if key == "uniqueItems":
                if not isinstance(value, bool):
                    raise _Found(_at(path, key), f"must be true or false {_got(value)}")
            elif key in _COUNTS:
                if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                    raise _Found(_at(path, key), f"must be a whole number >= 0 {_got(value)}")
            elif not number or not _finite(value):
                raise _Found(_at(path, key), f"must be a finite number {_got(value)}")
            elif key == "multipleOf" and not value > 0:
                raise _Found(_at(path, key), "must be a number > 0")

    def _type(self, value: object, path: str, present: bool) -> None:
        if not present:
            return
        names = [value] if isinstance(value, str) else value
        known = ", ".join(TYPE_NAMES)
        if not isinstance(names, _LISTS) or not names:
            raise _Found(path, f"must be a type name or a non-empty list of them {_got(value)}")
        for i, name in enumerate(names):
            if not isinstance(name, str):
                raise _Found(f"{path}[{i}]", f"must be a type name {_got(name)}")
            if name not in TYPE_NAMES:
                raise _Found(path, f"names an unknown type {name!r} (known: {known})")

    def _named(self, value: object, path: str, depth: int) -> None:
        if not isinstance(value, Mapping):
            raise _Found(path, f"must be an object of name -> schema {_got(value)}")
        for name, sub in value.items():
            self.node(sub, _at(path, name), depth + 1)

    def _ref(self, ref: object, path: str) -> None:
        seen = 0
        while True:
            if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
                raise _Found(
                    path,
                    "must be a local reference like '#/$defs/Name' (other $refs are not supported)",
                )
            target = resolve_pointer(self.root, ref)
            if not isinstance(target, Mapping):
                raise _Found(path, f"{ref!r} does not point to a schema in this document")
            if "$ref" not in target:
                return
            seen += 1
            if seen >= MAX_REF_CHAIN:
                raise _Found(path, f"{ref!r} only leads to more $refs (a cycle)")
            ref = target["$ref"]

    def _pattern(self, pattern: object, path: str) -> None:
        if not isinstance(pattern, str):
            raise _Found(path, f"must be a regular expression string {_got(pattern)}")
        # one RE2 cannot run is ignored when checking (a tool's schema still
        # checks the rest), and refused where every constraint must hold
        problem = pattern_problem(pattern) if self.checkable else None
        if problem is not None:
            raise _Found(path, problem)

    def _only_checkable(self, schema: Mapping[str, Any], path: str) -> None:
        for key in schema:
            if key not in UNDERSTOOD and key not in ANNOTATIONS:
                raise _Found(
                    _at(path, key),
                    f"is not a keyword this validator checks (it checks {', '.join(UNDERSTOOD)})",
                )
        for combiner in ("$ref", "anyOf", "oneOf"):
            if combiner in schema:
                others = [k for k in schema if k in UNDERSTOOD and k != combiner]
                others = [k for k in others if k not in _CONTAINERS]
                if others:
                    raise _Found(
                        _at(path, others[0]),
                        f"is not checked next to {combiner}: move it into the "
                        f"{'referenced schema' if combiner == '$ref' else combiner + ' options'}",
                    )
