"""The docs' code, run as written: every ```python block of a page, in the
page's order, in one namespace (a later block uses what an earlier one
defined, as a reader would), inside a trio task. Defined up front, as the
pages assume: `rt` (a runtime whose openai provider is the fake OpenAI
server), `llm` and the models the pages name (`gpt`, `claude`, `fast`, `a`,
`b`, `c`, `local`: all on the fake server), `chat` (a session), `trio`, and
the package's public names. A block that cannot run here says why, in a
`<!-- not run: ... -->` comment above it; a block that raises fails.
docs/migration.md's blocks run as whole programs
(tests/compat/test_migration_guide.py)."""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import trio

import abstractcore_actors
from abstractcore_actors import open_runtime
from abstractcore_actors.testing import FakeOpenAIServer, open_fake_openai_server

DOCS = Path(__file__).parents[2] / "docs"
BLOCK = re.compile(
    r"(?:[ \t]*<!-- not run: (?P<why>[^\n]*?) -->\n)?[ \t]*```python\n(?P<code>.*?)```", re.S
)
PUBLIC = {n: getattr(abstractcore_actors, n) for n in dir(abstractcore_actors) if n[0] != "_"}
MODELS = ("gpt", "claude", "fast", "a", "b", "c", "local")
PAGES = sorted(p for p in DOCS.glob("*.md") if p.name != "migration.md")


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """(where, code, why it is not run) of each python block of `page`."""
    text = page.read_text()
    return [
        (f"{page.name}:{text[: m.start('code')].count(chr(10)) + 1}", m["code"], m["why"])
        for m in BLOCK.finditer(text)
    ]


def test_most_blocks_run() -> None:
    found = [b for page in PAGES for b in blocks(page)]
    ran = [b for b in found if b[2] is None]
    assert len(ran) >= 25 and all(why.strip() for _, _, why in found if why is not None)


async def _run(code: str, where: str, namespace: dict[str, Any]) -> None:
    code = textwrap.dedent(code).replace("trio.run(main)", "await main()")
    # the block's names outlive it (locals returned), for the page's later blocks
    body = "async def __block():\n" + textwrap.indent(code, "    ") + "\n    return locals()\n"
    exec(compile(body, where, "exec", dont_inherit=True), namespace)
    with trio.fail_after(20), contextlib.redirect_stdout(io.StringIO()):
        namespace.update(await namespace["__block"]())


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
async def test_the_page_runs(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # what a block writes (a saved session) stays out of the tree
    async with open_fake_openai_server() as upstream:
        await _run_page(page, upstream, monkeypatch)


async def _run_page(
    page: Path, upstream: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the openai provider reaches the fake server (no key, no internet), in a
    # block's own open_runtime() too
    monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-test")
    monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url)
    async with open_runtime() as rt:

        def model() -> Any:
            return rt.create_llm("openai-compatible", "m", base_url=upstream.base_url)

        namespace: dict[str, Any] = {"__name__": "docs", "rt": rt, "trio": trio, **PUBLIC}
        namespace.update({"llm": model(), **{name: model() for name in MODELS}})
        namespace["chat"] = rt.session(namespace["llm"])
        for where, code, why in blocks(page):
            if why is None:
                await _run(code, where, namespace)
