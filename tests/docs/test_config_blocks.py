"""The docs' other code: every ```toml block is a gateway config (or a part
of one) that the gateway's own loader accepts, and every `abstractcore-actors`
command in a shell block parses with the command's own argument parser. A
renamed setting or flag fails here before a reader meets it."""

from __future__ import annotations

import re
import shlex
import textwrap
import tomllib
from pathlib import Path

import pytest

from abstractcore_actors.cli import _parser
from abstractcore_actors.server._config import config_from_mapping

DOCS = Path(__file__).parents[2] / "docs"
PAGES = sorted(DOCS.glob("*.md"))
TOML = re.compile(r"```toml\n(.*?)```", re.S)
SHELL = re.compile(r"```(?:bash|sh)\n(.*?)```", re.S)
ENV_PREFIX = re.compile(r"^(?:[A-Z_]+=\S*\s+)+")  # `NAME=value command`: the command's environment
CONSOLE = re.compile(r"```console\n(.*?)```", re.S)  # commands after `$ `, then their output
# the models the pages' fragments name and leave to the rest of the reader's file
NAMED = ("fast", "claude", "box", "coder", "general", "embed", "gpt")


def found(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(where, text) of each block `pattern` matches, on every page."""
    out = []
    for page in PAGES:
        text = page.read_text()
        for m in pattern.finditer(text):
            out.append(
                (f"{page.name}:{text[: m.start()].count(chr(10)) + 1}", textwrap.dedent(m[1]))
            )
    return out


TOML_BLOCKS = found(TOML)
COMMANDS = [
    (where, line.removeprefix(prompt))
    for pattern, prompt in ((SHELL, ""), (CONSOLE, "$ "))
    for where, block in found(pattern)
    for line in block.splitlines()
    if ENV_PREFIX.sub("", line.removeprefix(prompt)).startswith("abstractcore-actors ")
    and line.startswith(prompt)
]


def test_the_pages_have_configs_and_commands() -> None:
    assert len(TOML_BLOCKS) >= 9 and len(COMMANDS) >= 8


@pytest.mark.parametrize(("where", "text"), TOML_BLOCKS, ids=[w for w, _ in TOML_BLOCKS])
def test_a_config_block_loads(where: str, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-docs-test")  # the pass_env and bearer_env
    monkeypatch.setenv("SEARCH_MCP_TOKEN", "docs-test")  # variables the pages name
    data = tomllib.loads(text)
    others = {name: {"provider": "openai", "model": "gpt-4o-mini"} for name in NAMED}
    config = config_from_mapping({**data, "models": {**others, **data.get("models", {})}})
    for name in data.get("models", {}):
        assert name in config.models


@pytest.mark.parametrize(("where", "line"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_command_parses(where: str, line: str) -> None:
    # the command's own words: up to a shell operator or a comment
    words = []
    for word in shlex.split(ENV_PREFIX.sub("", line), comments=True):
        if word in ("&", "&&", ";", "|"):
            break
        words.append(word.removesuffix(";"))
    args = _parser().parse_args(words[1:])
    assert args.command in ("serve", "spend", "mcp")
