"""The docs' blocks marked `<!-- runs: ... -->`, run as written: each inside a
trio task, with `rt` (a runtime whose openai provider is the fake OpenAI
server) and `llm` (a model on it) defined, as the pages assume, and the package's public names. A
block that raises fails. (docs/migration.md's blocks run as whole
programs: tests/compat/test_migration_guide.py.)"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

import abstractcore_actors
from abstractcore_actors import open_runtime
from abstractcore_actors.testing import FakeOpenAIServer, open_fake_openai_server

DOCS = Path(__file__).parents[2] / "docs"
MARKED = re.compile(r"<!-- runs: tests/docs/test_runnable_blocks.py -->\n```python\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for match in MARKED.finditer(text):
            line = text[: match.start()].count("\n") + 3
            found.append((f"{page.name}:{line}", textwrap.dedent(match[1])))
    return found


BLOCKS = _blocks()
PUBLIC = {n: getattr(abstractcore_actors, n) for n in dir(abstractcore_actors) if n[0] != "_"}


def test_blocks_are_marked() -> None:
    assert len(BLOCKS) >= 16


@pytest.fixture
async def upstream() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server() as fake:
        yield fake


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[w for w, _ in BLOCKS])
async def test_the_block_runs(
    upstream: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, where: str, code: str
) -> None:
    code = code.replace("trio.run(main)", "await main()")
    body = "async def __block():\n" + textwrap.indent(code, "    ") + "\n"
    # the openai provider too reaches the fake server (no key, no internet)
    env = {"OPENAI_API_KEY": "sk-docs-test", "OPENAI_BASE_URL": upstream.base_url}
    for name, value in env.items():  # and a block's own open_runtime() too
        monkeypatch.setenv(name, value)
    async with open_runtime(env=env) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url)
        namespace = {"__name__": "docs", "rt": rt, "llm": llm, "trio": trio, **PUBLIC}
        exec(compile(body, where, "exec", dont_inherit=True), namespace)
        with trio.fail_after(20), contextlib.redirect_stdout(io.StringIO()):
            await namespace["__block"]()
