"""Read a docstring the way a tool schema needs it: a summary and one line per parameter.

Google (``Args:``), NumPy (``Parameters`` underlined) and reST/Sphinx
(``:param x:``) styles are read by `docstring_parser`, which detects the
style. Anything else (Returns, Raises, Examples) is ignored: the model only
needs to know what the tool does and what each argument means.
"""

from __future__ import annotations

import attrs
import docstring_parser


@attrs.frozen(kw_only=True)
class Docstring:
    """The parts of a docstring a tool schema uses."""

    summary: str = ""
    parameters: dict[str, str] = attrs.field(factory=dict)


def _join(text: str | None) -> str:
    return " ".join((text or "").split())


def parse_docstring(text: str | None) -> Docstring:
    """Split `text` into its summary (first paragraph) and parameter descriptions."""
    if not text:
        return Docstring()
    parsed = docstring_parser.parse(text)
    parameters = {
        param.arg_name.split()[-1].lstrip("*"): _join(param.description)
        for param in parsed.params
        # `Attributes` of an attrs class used as a nested argument type count too
        if param.args and param.args[0] in ("param", "attribute", "key", "keyword", "arg")
    }
    summary = parsed.short_description or ""
    if parsed.long_description and not parsed.blank_after_short_description:
        # a summary wrapped over several lines: the first paragraph is all of it
        summary += " " + parsed.long_description.split("\n\n")[0]
    return Docstring(summary=_join(summary), parameters=parameters)
