"""Read a docstring the way a tool schema needs it: a summary and one line per parameter.

Three styles are understood, because users write all three:

- Google:  ``Args:`` then ``name (type): text`` lines, continuations indented;
- NumPy:   ``Parameters`` underlined by dashes, then ``name : type`` and
  indented text below;
- Sphinx:  ``:param name: text`` or ``:param type name: text``.

Anything else in the docstring (Returns, Raises, Examples) is ignored: the
model only needs to know what the tool does and what each argument means.
"""

from __future__ import annotations

import inspect
import re

import attrs

# Google-style section headers whose entries describe parameters. `Attributes`
# is there for attrs classes used as nested argument types.
_GOOGLE_PARAMS = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Attributes):\s*$"
)
# Any Google-style section header ends the summary. Only known names: a
# summary line such as "Get the weather for:" is not a header.
_GOOGLE_HEADER = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Attributes|Returns?"
    r"|Yields?|Raises|Examples?|Notes?|Warnings?|See Also|Todo|References):\s*$"
)
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^-{3,}\s*$")
_NUMPY_PARAM_SECTIONS = {"Parameters", "Other Parameters", "Attributes"}
_NUMPY_ENTRY = re.compile(r"^(\w+)\s*(?::.*)?$")
_SPHINX_FIELD = re.compile(r"^:(\w+)(?:\s+([^:]*?))?\s*:\s*(.*)$")


@attrs.frozen(kw_only=True)
class Docstring:
    """The parts of a docstring a tool schema uses."""

    summary: str = ""
    parameters: dict[str, str] = attrs.field(factory=dict)


def parse_docstring(text: str | None) -> Docstring:
    """Split `text` into its summary (first paragraph) and parameter descriptions."""
    if not text:
        return Docstring()
    lines = inspect.cleandoc(text).splitlines()
    parameters: dict[str, str] = {}
    parameters.update(_google(lines))
    parameters.update(_numpy(lines))
    parameters.update(_sphinx(lines))
    return Docstring(summary=_summary(lines), parameters=parameters)


def _join(parts: list[str]) -> str:
    return " ".join(" ".join(parts).split())


def _is_section_start(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if _GOOGLE_HEADER.match(line) or line.startswith(":"):
        return True
    return i + 1 < len(lines) and bool(_NUMPY_UNDERLINE.match(lines[i + 1].strip()))


def _summary(lines: list[str]) -> str:
    summary: list[str] = []
    for i, line in enumerate(lines):
        if not line.strip() or _is_section_start(lines, i):
            break
        summary.append(line)
    return _join(summary)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    i = 0
    while i < len(lines):
        if not _GOOGLE_PARAMS.match(lines[i].strip()):
            i += 1
            continue
        section_indent = _indent(lines[i])
        i += 1
        entry_indent: int | None = None
        name: str | None = None
        while i < len(lines):
            line = lines[i]
            if line.strip() and _indent(line) <= section_indent:
                break  # dedented back to the header's level: the next section
            if line.strip():
                if entry_indent is None:
                    entry_indent = _indent(line)
                match = _GOOGLE_ENTRY.match(line.strip())
                if _indent(line) == entry_indent and match:
                    name = match.group(1)
                    found[name] = match.group(2)
                elif name is not None:
                    found[name] = _join([found[name], line])
            i += 1
    return {key: _join([value]) for key, value in found.items()}


def _numpy(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    i = 0
    while i + 1 < len(lines):
        header = lines[i].strip()
        if header not in _NUMPY_PARAM_SECTIONS or not _NUMPY_UNDERLINE.match(lines[i + 1].strip()):
            i += 1
            continue
        section_indent = _indent(lines[i])
        i += 2
        name: str | None = None
        while i < len(lines):
            line = lines[i]
            if i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1].strip()):
                break  # the next section's header
            if line.strip():
                match = _NUMPY_ENTRY.match(line.strip())
                if _indent(line) <= section_indent and match:
                    name = match.group(1)
                    found[name] = ""
                elif name is not None:
                    found[name] = _join([found[name], line])
            i += 1
    return found


def _sphinx(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    name: str | None = None
    for line in lines:
        stripped = line.strip()
        match = _SPHINX_FIELD.match(stripped)
        if match:
            field, argument, text = match.groups()
            name = None
            if field in ("param", "parameter", "arg", "argument", "key", "keyword") and argument:
                name = argument.split()[-1]  # ":param int x:" names x
                found[name] = text
        elif name is not None and stripped and _indent(line) > 0:
            found[name] = _join([found[name], stripped])
        else:
            name = None
    return {key: _join([value]) for key, value in found.items()}
