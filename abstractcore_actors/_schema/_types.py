"""What a type hint is, for both directions of the schema engine: unions,
`Annotated` descriptions, arrays, mappings, and records (attrs classes and
dataclasses) with their constructor fields."""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from typing import Any

import attrs

#: array annotations -> the container a JSON array becomes
ARRAY_ORIGINS: dict[object, type] = {
    list: list,
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    collections.abc.Sequence: list,
    collections.abc.MutableSequence: list,
    collections.abc.Set: frozenset,
    collections.abc.MutableSet: set,
}
MAPPING_ORIGINS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
NO_DEFAULT: Any = attrs.NOTHING
SUPPORTED = (
    "str, int, float, bool, None, Any, X | None, Literal[...], an Enum, list[T], "
    "tuple[T, ...], set[T], dict[str, T], or an attrs class / dataclass of those"
)


class UnsupportedType(Exception):
    """An annotation the engine cannot describe (callers raise it as a ValidationError)."""


@attrs.frozen(kw_only=True)
class Field:
    """One constructor field of a record."""

    key: str  # the keyword the constructor takes (an attrs alias, else the name)
    hint: Any
    required: bool
    default: Any = NO_DEFAULT  # a plain default value (not a factory), if any
    description: str = ""  # from the field's metadata["description"]


def is_union(hint: object) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def is_record(hint: object) -> bool:
    return isinstance(hint, type) and (attrs.has(hint) or dataclasses.is_dataclass(hint))


def strip_annotated(hint: Any) -> tuple[Any, str]:
    """`Annotated[T, "text", ...]` -> (T, "text"); anything else -> (it, "")."""
    if typing.get_origin(hint) is typing.Annotated:
        texts = [m for m in hint.__metadata__ if isinstance(m, str)]
        return hint.__origin__, (texts[0] if texts else "")
    return hint, ""


def record_fields(cls: type) -> list[Field]:
    """The constructor fields of an attrs class or dataclass, types resolved;
    raises UnsupportedType when a forward reference does not resolve."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:
        raise UnsupportedType(f"{cls.__name__}: its type hints do not resolve ({exc})") from None
    if attrs.has(cls):
        return [
            Field(
                key=f.alias or f.name,
                hint=hints.get(f.name, Any),
                required=f.default is attrs.NOTHING,
                default=NO_DEFAULT if isinstance(f.default, attrs.Factory) else f.default,  # type: ignore[arg-type]
                description=str(f.metadata.get("description") or ""),
            )
            for f in attrs.fields(cls)
            if f.init
        ]
    return [
        Field(
            key=f.name,
            hint=hints.get(f.name, Any),
            required=f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            default=NO_DEFAULT if f.default is dataclasses.MISSING else f.default,
            description=str(f.metadata.get("description") or ""),
        )
        for f in dataclasses.fields(cls)
        if f.init
    ]


def type_name(hint: object) -> str:
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return repr(hint).replace("typing.", "")
