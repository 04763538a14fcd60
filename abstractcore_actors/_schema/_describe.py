"""Type hints -> JSON schema: the one description used for tool arguments and
for response models.

    str int float bool None Any
    X | None, Optional[X], X | Y          nullable (a type list) / anyOf
    Literal["a", "b"], enum.Enum          enum
    list[T] tuple[T, ...] Sequence[T] set[T] frozenset[T]   array (sets: uniqueItems)
    dict[str, T] Mapping[str, T]           object of T
    attrs classes, dataclasses             nested object (recursively)
    Annotated[T, "description"]            T, described

A record's fields with a default are not required (a scalar default is
written as `default`); every record's schema has `additionalProperties:
false`, so the model is told not to invent names. Descriptions come from
`Annotated`, a field's `metadata["description"]`, or the class docstring
(its summary, and its `Attributes:` / `Args:` entries for the fields).
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._docstring import parse_docstring
from ._types import (
    ARRAY_ORIGINS,
    MAPPING_ORIGINS,
    NO_DEFAULT,
    Field,
    UnsupportedType,
    is_record,
    is_union,
    record_fields,
    strip_annotated,
    type_name,
)

JsonSchema = dict[str, Any]

_PRIMITIVES: dict[object, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_JSON_SCALARS = (str, int, float, bool, type(None))


def describe(hint: Any, seen: tuple[type, ...] = (), *, defaults: bool = True) -> JsonSchema:
    """The JSON schema of one type hint; raises UnsupportedType naming what is wrong.

    `defaults=False` leaves out fields' `default`s (OpenAI's strict structured
    outputs refuse the keyword)."""
    hint, description = strip_annotated(hint)
    schema = _schema_of(hint, seen, defaults)
    if description:
        schema["description"] = description
    return schema


def json_default(value: object) -> object:
    """A default as JSON (an Enum member is its value); NO_DEFAULT when it is not JSON."""
    if value is NO_DEFAULT:
        return NO_DEFAULT
    if isinstance(value, enum.Enum):
        value = value.value
    return value if isinstance(value, _JSON_SCALARS) else NO_DEFAULT


def _scalar_types(values: list[object]) -> str | list[str] | None:
    names: list[str] = []
    for value in values:
        name = "null" if value is None else _PRIMITIVES.get(type(value))
        if name is None:
            return None
        if name not in names:
            names.append(name)
    return names[0] if len(names) == 1 else names


def _enum_schema(values: list[object], what: str) -> JsonSchema:
    if not all(isinstance(v, _JSON_SCALARS) for v in values):
        raise UnsupportedType(f"{what} has values that are not JSON strings or numbers")
    schema: JsonSchema = {"enum": list(values)}
    json_type = _scalar_types(values)
    if json_type is not None:
        schema = {"type": json_type, **schema}
    return schema


def _nullable(schema: JsonSchema) -> JsonSchema:
    json_type = schema.get("type")
    if isinstance(json_type, str):
        nullable = {**schema, "type": [json_type, "null"]}
        if "enum" in schema and None not in schema["enum"]:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    if not schema:
        return schema  # Any already allows null
    return {"anyOf": [schema, {"type": "null"}]}


def _schema_of(hint: Any, seen: tuple[type, ...], defaults: bool) -> JsonSchema:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    if is_union(hint):
        options = [a for a in args if a is not type(None)]
        schemas = [describe(a, seen, defaults=defaults) for a in options]
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        return _nullable(schema) if len(options) < len(args) else schema
    if origin is typing.Literal:
        return _enum_schema(list(args), f"Literal{list(args)}")
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_schema([m.value for m in hint], f"enum {hint.__name__}")
    if is_record(hint):
        return record_schema(hint, seen, defaults=defaults)
    if hint in ARRAY_ORIGINS or origin in ARRAY_ORIGINS:
        return _array_schema(hint, origin, args, seen, defaults)
    if hint in MAPPING_ORIGINS or origin in MAPPING_ORIGINS:
        if args and args[0] is not str:
            raise UnsupportedType(
                f"{type_name(hint)}: JSON object keys are strings, use dict[str, T]"
            )
        values = describe(args[1], seen, defaults=defaults) if args else {}
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}
    raise UnsupportedType(f"{type_name(hint)} cannot be described as JSON")


def _array_schema(
    hint: Any, origin: Any, args: tuple[Any, ...], seen: tuple[type, ...], defaults: bool
) -> JsonSchema:
    container = origin or hint
    if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        raise UnsupportedType(
            f"{type_name(hint)}: fixed-length tuples are not supported; use tuple[T, ...], "
            "list[T] or an attrs class"
        )
    schema: JsonSchema = {"type": "array"}
    if args:
        items = describe(args[0], seen, defaults=defaults)
        if items:
            schema["items"] = items
    if ARRAY_ORIGINS[container] in (set, frozenset):
        schema["uniqueItems"] = True
    return schema


def _own_docstring(cls: type) -> str | None:
    doc = cls.__doc__
    if doc and doc.startswith(f"{cls.__name__}("):  # the signature dataclasses write
        return None
    return doc


def record_schema(cls: type, seen: tuple[type, ...] = (), *, defaults: bool = True) -> JsonSchema:
    """An attrs class or dataclass as an object schema (see the module docstring)."""
    if cls in seen:
        raise UnsupportedType(
            f"{cls.__name__} refers to itself; a schema must be finite "
            "(flatten it, or take a list of a non-recursive class)"
        )
    doc = parse_docstring(_own_docstring(cls))
    schema = object_schema(
        record_fields(cls),
        doc.parameters,
        (*seen, cls),
        defaults=defaults,
        label=lambda key: f"field {cls.__name__}.{key}",
    )
    if doc.summary:
        schema["description"] = doc.summary
    return schema


def object_schema(
    fields: Iterable[Field],
    described: Mapping[str, str],
    seen: tuple[type, ...] = (),
    *,
    defaults: bool = True,
    label: Callable[[str], str],
) -> JsonSchema:
    """The object schema of named fields: a record's, or a tool function's parameters.

    A field's description is its `Annotated` text, else its own (`metadata`),
    else the docstring's line for it (`described`), else the summary of its
    type, when that is a record. Raises UnsupportedType prefixed with `label(key)`."""
    properties: JsonSchema = {}
    required: list[str] = []
    for field in fields:
        hint, annotated = strip_annotated(field.hint)
        try:
            schema = describe(hint, seen, defaults=defaults)
        except UnsupportedType as exc:
            raise UnsupportedType(f"{label(field.key)}: {exc}") from None
        description = annotated or field.description or described.get(field.key, "")
        if description:
            schema["description"] = description
        if field.required:
            required.append(field.key)
        elif defaults and (default := json_default(field.default)) is not NO_DEFAULT:
            schema["default"] = default
        properties[field.key] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
