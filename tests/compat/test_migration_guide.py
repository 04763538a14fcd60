"""Every code block of docs/migration.md, run as written: the openai provider
pointed at the fake OpenAI server (OPENAI_BASE_URL), the replies the comment
above the block names, and what the block must print."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from abstractcore_actors.testing import FakeOpenAIServer, FakeToolCall, Reply

GUIDE = Path(__file__).parents[2] / "docs" / "migration.md"
BLOCK = re.compile(
    r"<!-- replies: (?P<replies>\[.*?\]); prints: (?P<prints>\".*?\") -->\n"
    r"```python\n(?P<code>.*?)```",
    re.S,
)


def _blocks() -> list[tuple[str, list[dict[str, Any]], str, str]]:
    text = GUIDE.read_text()
    found = []
    for match in BLOCK.finditer(text):
        heading = [h for h in re.findall(r"^## (.+)$", text[: match.start()], re.M)][-1]
        found.append(
            (heading, json.loads(match["replies"]), json.loads(match["prints"]), match["code"])
        )
    return found


BLOCKS = _blocks()


def _reply(spec: dict[str, Any]) -> Reply:
    calls = [
        FakeToolCall(name=c["name"], arguments=c["arguments"]) for c in spec.pop("tool_calls", [])
    ]
    return Reply(tool_calls=calls, **spec)


def test_every_python_block_of_the_guide_is_run_here() -> None:
    blocks_in_guide = GUIDE.read_text().count("```python")
    assert len(BLOCKS) == blocks_in_guide >= 14  # before and after, for seven topics


@pytest.mark.parametrize(
    ("replies", "prints", "code"),
    [b[1:] for b in BLOCKS],
    ids=[f"{b[0]}-{'before' if i % 2 == 0 else 'after'}" for i, b in enumerate(BLOCKS)],
)
def test_the_block_runs_and_prints_what_the_guide_says(
    server: FakeOpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    replies: list[dict[str, Any]],
    prints: str,
    code: str,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-migration-guide")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    server.push(*[_reply(dict(r)) for r in replies])
    exec(compile(code, str(GUIDE), "exec"), {"__name__": "__main__"})
    assert prints in capsys.readouterr().out
    models = {r.json.get("model") for r in server.requests if isinstance(r.json, dict)}
    assert models == {"gpt-4o-mini"}
