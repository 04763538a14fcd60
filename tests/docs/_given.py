"""What the docs' pages take as given: the names a page's blocks use but leave
to the reader (their own actors, tools, texts, a data class), the upstream
that answers them, and the gateway the server pages' clients talk to. Each
is as small as the page's use of it allows; none stands in for a part of
this package."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import attrs
import openai

from abstractcore_actors import Behaviour
from abstractcore_actors.testing import RecordedRequest, Reply, Step
from abstractcore_actors.testing._script import echo
from abstractcore_actors.tools import tool

#: the port the pages' gateway URLs name; the test's gateway listens on a free one
PAGE_PORT = "127.0.0.1:8000"
GATEWAY_KEYS = ("my-gateway-key", "KEY")


def example_of(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A small value that `schema` accepts: what a model that follows the
    schema would answer (the pages' schemas: objects, arrays, enums, nullable)."""
    defs = schema.get("$defs", defs or {})
    if "$ref" in schema:
        return example_of(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_of(options[0], defs)
    kind = schema.get("type", "object")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    match kind:
        case "object":
            properties = schema.get("properties", {})
            required = schema.get("required", list(properties))
            return {name: example_of(properties[name], defs) for name in required}
        case "array":
            return [example_of(schema.get("items", {}), defs)]
        case "string":
            return "Ada"
        case "integer" | "number":
            return max(schema.get("minimum", 36), 36)
        case "boolean":
            return True
        case _:
            return None


def answer(request: RecordedRequest) -> Step:
    """The upstream's answer: JSON its schema accepts when the request asks
    for a schema, else the fake server's echo."""
    body = request.json if isinstance(request.json, dict) else {}
    wanted = body.get("response_format") or {}
    if wanted.get("type") == "json_schema":
        return Reply(text=json.dumps(example_of(wanted["json_schema"]["schema"])))
    return echo(request)


def gateway_toml(workdir: Path) -> str:
    """The gateway.toml the server pages' clients meet: their keys and model
    names, every model on the fake upstreams (the environment's base URLs)."""
    serve_tools = [sys.executable, "-m", "abstractcore_actors.cli", "mcp", "serve"]
    return textwrap.dedent(
        f"""\
        [server]
        api_keys = {json.dumps(list(GATEWAY_KEYS))}

        [models.fast]
        provider = "openai"
        model = "gpt-4o-mini"

        [models."gpt-4o"]
        provider = "openai"
        model = "gpt-4o"

        [models."gpt-test"]
        provider = "openai"
        model = "gpt-test"

        [models.claude]
        provider = "anthropic"
        model = "claude-3-5-haiku-latest"

        [mcp.files]
        command = {json.dumps([*serve_tools, "--tools", "my_tools"])}
        cwd = {json.dumps(str(workdir))}
        """
    )


MY_TOOLS = '''\
"""The reader's own tools, served over MCP by the pages' examples."""

from abstractcore_actors.tools import tool


@tool
def read_file(path: str) -> str:
    """Read a text file."""
    return f"the text of {path}"
'''


class _Quiet(Behaviour):
    """An actor of the reader's that answers every message with it."""

    def __init__(self, *args: object) -> None:
        self.args = args

    async def receive(self, message: object, ctx: object) -> object:
        return message


@attrs.frozen
class Person:
    name: str
    age: int


@tool
def search(query: str) -> str:
    """Search the web."""
    return f"results for {query}"


@tool(name="search")
def search_v2(query: str, site: str | None = None) -> str:
    """Search the web, or one site."""
    return f"results for {query} on {site or 'the web'}"


def names_for(page: str, *, gateway_url: str, llm: Any) -> dict[str, Any]:
    """The names `page` leaves to its reader, as small as its blocks need."""
    client = openai.OpenAI(base_url=f"{gateway_url}/v1", api_key=GATEWAY_KEYS[0], max_retries=0)
    given: dict[str, dict[str, Any]] = {
        "kernel.md": {
            "Session": _Quiet,
            "Ticker": _Quiet,
            "Db": _Quiet,
            "Cache": _Quiet,
            "Scraper": _Quiet,
            "url": "https://example.com",
        },
        "patterns.md": {
            "len_of": lambda response: len(response.content),
            "prompts": [f"Name a colour ({i})" for i in range(20)],
            "question": "Capital of France? One word.",
        },
        "providers.md": {"Person": Person, "texts": [f"text {i}" for i in range(600)]},
        "routing.md": {"coder": llm, "accountant": llm, "chatty": llm},
        "sessions.md": {"Person": Person, "search": search, "search_v2": search_v2},
        "structured.md": {"render": lambda field, value: None},
        "tools.md": {"client": client},
    }
    return given.get(page, {})
