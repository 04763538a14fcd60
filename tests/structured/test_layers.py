"""Structured output respects DESIGN.md's layers: its core sits below sessions,
and only the concurrent mode (a race) reaches up into patterns."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import abstractcore_actors

PACKAGE = Path(abstractcore_actors.__file__).parent


def _imports(module: Path) -> set[str]:
    """The first part of every package module `module` imports (e.g. "patterns")."""
    rel = module.relative_to(PACKAGE).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(rel[: len(rel) - node.level])  # the package the dots name
            parts = [*base, *(node.module.split(".") if node.module else [])]
            names = parts or [alias.name for alias in node.names]
            found.add(names[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("abstractcore_"):
            found.add((node.module or "").split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("abstract")}
    return found


ABOVE_SESSIONS = {"patterns", "structured", "server", "testing", "sync", "cli", "runtime"}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("structured_core", ABOVE_SESSIONS | {"tools", "sessions"}),
        ("sessions", ABOVE_SESSIONS),
    ],
)
def test_nothing_below_patterns_imports_upwards(package: str, forbidden: set[str]) -> None:
    for module in sorted((PACKAGE / package).glob("*.py")):
        upward = _imports(module) & forbidden
        assert not upward, f"{module.name} imports {sorted(upward)}"


def test_the_import_scanner_sees_an_upward_import() -> None:
    # The public structured package does import patterns: the scanner must say so.
    assert "patterns" in _imports(PACKAGE / "structured" / "_generate.py")
