"""The docs' code, run as written: every ```python block of a page, in the
page's order, in one namespace (a later block uses what an earlier one
defined, as a reader would), inside a trio task. Defined up front, as the
pages assume: `rt` (a runtime whose openai provider is the fake OpenAI
server and whose anthropic provider is the fake Anthropic server), `llm`
and the models the pages name (`gpt`, `claude`, `fast`, `a`, `b`, `c`,
`local`: all on the fake server), `chat` (a session), `trio`, the package's
public names, and what a page leaves to its reader (tests/docs/_given.py).
A gateway on that upstream serves the pages' clients, at the port they name
(README.md's: `abstractcore-actors serve` with no config, the local model).

A block under `<!-- test: in a thread -->` is blocking code (an SDK client,
the sync facade): it runs as a module in a worker thread while the trio loop
serves it. A block that raises fails. docs/migration.md's blocks run as
whole programs (tests/compat/test_migration_guide.py)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import textwrap
from collections.abc import AsyncIterator
from functools import partial
from inspect import iscoroutinefunction, signature
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from trio.testing import MockClock

import abstractcore_actors
from abstractcore_actors import Runtime, open_runtime
from abstractcore_actors.server import GatewayConfig, load_config, serve
from abstractcore_actors.testing import open_fake_anthropic_server, open_fake_openai_server

from ._given import MY_TOOLS, PAGE_PORT, answer, gateway_toml, names_for

DOCS = Path(__file__).parents[2] / "docs"
BLOCK = re.compile(
    r"(?:[ \t]*<!-- test: (?P<how>[^\n]*?) -->\n)?(?P<indent>[ \t]*)```python\n(?P<code>.*?)```",
    re.S,
)
HOW = {None, "in a thread"}
PUBLIC = {n: getattr(abstractcore_actors, n) for n in dir(abstractcore_actors) if n[0] != "_"}
MODELS = ("gpt", "claude", "fast", "a", "b", "c", "local")
PAGES = [
    *sorted(p for p in DOCS.glob("*.md") if p.name != "migration.md"),
    DOCS.parent / "README.md",
]
# `trio.run(main)` / `trio.run(watch, "x")` at a block's end: awaited in the test's own loop
TRIO_RUN = re.compile(r"^trio\.run\((\w+)(?:, (.*))?\)$", re.M)


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """(where, code, how it runs) of each python block of `page`."""
    text = page.read_text()
    return [
        (f"{page.name}:{text[: m.start('code')].count(chr(10)) + 1}", m["code"], m["how"])
        for m in BLOCK.finditer(text)
    ]


def test_every_block_runs() -> None:
    found = [b for page in PAGES for b in blocks(page)]
    assert len(found) >= 60
    assert {how for _, _, how in found} <= HOW
    assert not [p.name for p in PAGES if "<!-- not run" in p.read_text()]


def _source(code: str, port: int) -> str:
    code = textwrap.dedent(code).replace(PAGE_PORT, f"127.0.0.1:{port}")
    return TRIO_RUN.sub(lambda m: f"await {m[1]}({m[2] or ''})", code)


async def _run(code: str, where: str, namespace: dict[str, Any]) -> None:
    # the block's names outlive it (locals returned), for the page's later blocks
    body = "async def __block():\n" + textwrap.indent(code, "    ") + "\n    return locals()\n"
    exec(compile(body, where, "exec", dont_inherit=True), namespace)
    with trio.fail_after(30), contextlib.redirect_stdout(io.StringIO()):
        namespace.update(await namespace["__block"]())


async def _run_in_thread(code: str, where: str, namespace: dict[str, Any]) -> None:
    compiled = compile(code, where, "exec", dont_inherit=True)
    with trio.fail_after(60), contextlib.redirect_stdout(io.StringIO()):
        await trio.to_thread.run_sync(exec, compiled, namespace)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
async def test_the_page_runs(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # what a block writes (a saved session) stays out of the tree
    # the `abstractcore-actors` command of this interpreter, as an installed one is
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "my_tools.py").write_text(MY_TOOLS)
    (tmp_path / "gateway.toml").write_text(gateway_toml(tmp_path))
    async with (
        open_fake_openai_server(answer) as upstream,
        open_fake_anthropic_server() as anthropic_upstream,
    ):
        # the providers reach the fake servers (no key, no internet), in a
        # block's own open_runtime() too
        monkeypatch.setenv("OPENAI_API_KEY", "sk-docs-test")
        monkeypatch.setenv("OPENAI_BASE_URL", upstream.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-docs-test")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", anthropic_upstream.base_url)
        async with open_runtime() as rt, _gateway(rt, page.name) as port:
            await _run_page(page, rt, upstream.base_url, port)


@contextlib.asynccontextmanager
async def _gateway(rt: Runtime, page: str) -> AsyncIterator[int]:
    config: GatewayConfig | None = load_config("gateway.toml")
    if page == "README.md":  # `abstractcore-actors serve`: the local model, no keys
        config = None
    elif page != "tools.md":  # an MCP server is a child process: only for the page that uses it
        config = attrs.evolve(config, mcp={})
    async with trio.open_nursery() as nursery:
        yield await nursery.start(partial(serve, rt, config, port=0))
        nursery.cancel_scope.cancel()


async def _run_page(page: Path, rt: Runtime, base_url: str, port: int) -> None:
    def model() -> Any:  # structured output by OpenAI's json_schema, which `answer` follows
        return rt.create_llm("openai", "gpt-4o-mini", base_url=base_url)

    namespace: dict[str, Any] = {"__name__": "docs", "rt": rt, "trio": trio, **PUBLIC}
    namespace.update({"llm": model(), **{name: model() for name in MODELS}})
    namespace["chat"] = rt.session(namespace["llm"])
    namespace.update(names_for(page.name, gateway_url=f"http://127.0.0.1:{port}", llm=model()))
    ran: set[str] = set()
    for where, code, how in blocks(page):
        source = _source(code, port)
        if how == "in a thread":
            await _run_in_thread(source, where, namespace)
        else:
            await _run(source, where, namespace)
        # a block's own `async with open_runtime() as rt:` has closed that
        # runtime; the page's next fragment means the reader's open one
        namespace["rt"] = rt
        await _run_tests(namespace, ran)


async def _run_tests(namespace: dict[str, Any], ran: set[str]) -> None:
    """Run the tests a block defined, as pytest-trio would: each in its own
    trio.run (in a worker thread), with a MockClock for `autojump_clock`."""
    for name, test in list(namespace.items()):
        if name.startswith("test_") and iscoroutinefunction(test) and name not in ran:
            ran.add(name)
            clock = MockClock(autojump_threshold=0)
            if "autojump_clock" in signature(test).parameters:
                run = partial(trio.run, partial(test, autojump_clock=clock), clock=clock)
            else:
                run = partial(trio.run, test)
            with trio.fail_after(30):
                await trio.to_thread.run_sync(run)
