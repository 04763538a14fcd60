"""Any request body -> a 200 or an OpenAI-shaped 4xx; never a 500, never a hang.

Bodies are arbitrary JSON (text with any Unicode, lone surrogates too) in
every field of a chat request (message entries, roles, content parts, tool
calls, tools, tool_choice, response_format with random schemas,
stream_options, the sampling fields), top-level JSON of any
kind, bytes that are not UTF-8, and /v1/embeddings bodies. One gateway (and
its fake upstream) runs in a thread for the whole module, so each example is
only HTTP requests; after each example a good request must still be answered.

The one 5xx a body may earn is 502 `response_format_not_met`: a schema the
echoing fake upstream's answers do not fit, which is the model's fault, not
the input's (the validated path gives up after its bounded attempts).
"""

from __future__ import annotations

import functools
import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import open_runtime
from abstractcore_actors._structured import response_model, schema_problem
from abstractcore_actors._structured._modes import strict_compatible
from abstractcore_actors.errors import ValidationError
from abstractcore_actors.server import ModelRoute, serve
from abstractcore_actors.testing import Reply, open_fake_openai_server
from tests.leaks import our_tasks

from .conftest import KEY, UPSTREAM_KEY, Routes, gateway_config

# -- strategies ---------------------------------------------------------------

# Any Unicode, lone surrogates included: JSON may carry them as "\ud800"
# escapes, which decode to a str that UTF-8 cannot encode. They are drawn
# often (hypothesis' own alphabet leaves them out), in every text field.
ODD_CHARACTERS = st.sampled_from(["\ud800", "\udfff", "\udc80", "\x00", "é", "😀", "\u2028"])
characters = ODD_CHARACTERS | st.characters(exclude_categories=())


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=characters, max_size=max_size)


KEYS = ["model", "messages", "role", "content", "type", "function", "name", "text", "a", "b"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, -1, 2**63, 10**400, 0.5, 1e308])
    | st.floats()  # NaN and inf too: json.dumps writes them, the gateway refuses them
    | texts(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | texts(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def sometimes_junk(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a well-formed value (to get deep into the parser), else any JSON."""
    return st.one_of(good, good, json_values)


# random JSON schemas: right keywords with right-ish or wrong values
TYPE_NAMES = ["object", "array", "string", "integer", "number", "boolean", "null", "objekt"]
SCHEMA_KEYWORDS = [
    *("type", "properties", "required", "items", "enum", "const", "anyOf", "oneOf"),
    *("$ref", "$defs", "additionalProperties", "title", "description", "format"),
    *("minimum", "pattern", "allOf", "nullable"),
]
REFS = ["#", "#/$defs/a", "#/$defs/b", "#/properties/a", "#/$defs", "http://x/s.json", "#/x/~0"]


def keyword_values(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    names = st.sampled_from(["a", "b", "c"])
    return st.one_of(
        st.sampled_from(TYPE_NAMES),
        st.lists(st.sampled_from(TYPE_NAMES) | scalars, max_size=3),
        st.dictionaries(names, inner, max_size=3),  # properties, $defs
        st.lists(inner, max_size=3),  # anyOf, oneOf
        st.lists(names | scalars, max_size=3),  # required, enum
        st.sampled_from(REFS),
        st.booleans(),
        inner,
        scalars,  # the wrong type for most keywords: `required: 5`, `enum: "x"`
        json_values,
    )


schemas = st.recursive(
    st.just({}) | st.builds(lambda t: {"type": t}, st.sampled_from(TYPE_NAMES)),
    lambda inner: st.dictionaries(
        st.sampled_from(SCHEMA_KEYWORDS), keyword_values(inner), max_size=5
    ),
    max_leaves=10,
)
# a root the answer {"a": 1, "b": [...], "c": {...}} walks into: its keywords get used
object_roots = st.dictionaries(
    st.sampled_from(SCHEMA_KEYWORDS), keyword_values(schemas), max_size=3
).map(lambda s: {"type": "object", **s})
root_schemas = st.one_of(object_roots, object_roots, schemas, json_values)

content_parts = st.fixed_dictionaries(
    {},
    optional={
        "type": sometimes_junk(st.sampled_from(["text", "image_url", "input_audio"])),
        "text": sometimes_junk(texts(max_size=10)),
    },
)
contents = st.one_of(
    st.none(), texts(max_size=10), st.lists(content_parts | json_values, max_size=3)
)
tool_calls = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": sometimes_junk(texts(max_size=6)),
            "type": sometimes_junk(st.just("function")),
            "function": sometimes_junk(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "name": sometimes_junk(st.sampled_from(["f", "g", ""])),
                        "arguments": sometimes_junk(st.sampled_from(["{}", '{"a": 1}', "[", ""])),
                    },
                )
            ),
        },
    )
    | json_values,
    max_size=2,
)
ROLES = ["user", "system", "developer", "assistant", "tool", "robot"]
messages = st.lists(
    st.fixed_dictionaries(
        {"role": sometimes_junk(st.sampled_from(ROLES)), "content": sometimes_junk(contents)},
        optional={
            "tool_call_id": sometimes_junk(texts(max_size=4)),
            "tool_calls": sometimes_junk(tool_calls),
            "name": sometimes_junk(texts(max_size=4)),
        },
    )
    | json_values,
    min_size=1,
    max_size=3,
)
tools = st.lists(
    st.fixed_dictionaries(
        {
            "function": sometimes_junk(
                st.fixed_dictionaries(
                    {"name": sometimes_junk(st.sampled_from(["f", "g", "bad name", "x" * 65]))},
                    optional={
                        "description": sometimes_junk(texts(max_size=6)),
                        "parameters": sometimes_junk(root_schemas),
                    },
                )
            )
        },
        optional={"type": sometimes_junk(st.just("function"))},
    )
    | json_values,
    max_size=2,
)
tool_choices = st.one_of(
    st.sampled_from(["auto", "none", "required", "sometimes"]),
    st.builds(
        lambda t, name: {"type": t, "function": {"name": name}},
        sometimes_junk(st.just("function")),
        sometimes_junk(st.sampled_from(["f", "g"])),
    ),
    json_values,
)
response_formats = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "json_object", "xml"])}),
    st.fixed_dictionaries(
        {
            "type": sometimes_junk(st.just("json_schema")),
            "json_schema": sometimes_junk(
                st.fixed_dictionaries(
                    {"name": sometimes_junk(st.sampled_from(["A", "a b"]))},
                    optional={
                        "schema": root_schemas,
                        "strict": sometimes_junk(st.booleans()),
                        "description": sometimes_junk(texts(max_size=6)),
                    },
                )
            ),
        }
    ),
    json_values,
)
MODELS = ["gpt-test", "fast", "default", "native", "race:fast,slow", "ensemble:fast,slow", "nope"]
numbers = st.one_of(st.floats(-1, 3), st.integers(-2, 5), st.sampled_from([10**400, 2**70]))
chat_fields = {
    "tools": sometimes_junk(tools),
    "tool_choice": tool_choices,
    "response_format": response_formats,
    "temperature": sometimes_junk(numbers),
    "top_p": sometimes_junk(numbers),
    "max_tokens": sometimes_junk(numbers),
    "max_completion_tokens": sometimes_junk(numbers),
    "seed": sometimes_junk(st.integers() | st.sampled_from([2**63, -(2**63) - 1])),
    "stop": sometimes_junk(texts(max_size=3) | st.lists(texts(max_size=3), max_size=5)),
    "n": sometimes_junk(st.sampled_from([1, 2, True, 1.0])),
    "stream": sometimes_junk(st.booleans()),
    "stream_options": sometimes_junk(
        st.fixed_dictionaries({}, optional={"include_usage": sometimes_junk(st.booleans())})
    ),
}
chat_bodies = st.fixed_dictionaries(
    {
        "model": sometimes_junk(st.sampled_from(MODELS)),
        "messages": sometimes_junk(messages),
    },
    optional=chat_fields,
)
embedding_bodies = st.fixed_dictionaries(
    {"model": sometimes_junk(st.sampled_from(["gpt-test", "default", "race:fast,slow", "nope"]))},
    optional={
        "input": sometimes_junk(
            texts(max_size=8) | st.lists(texts(max_size=8), max_size=3) | st.lists(st.integers())
        ),
        "encoding_format": sometimes_junk(st.sampled_from(["float", "base64", "hex"])),
        "dimensions": sometimes_junk(st.integers(-1, 2**70)),
        "user": json_values,
    },
)


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()


not_utf8 = st.builds(
    lambda head, junk: head + junk,
    st.sampled_from([b"", b'{"model": "', b'{"model": "gpt-test", "messages": [{"role": "']),
    st.binary(min_size=1, max_size=12).map(lambda b: b"\xff" + b + b"\xc3"),
)
VALID = {"model": "fast", "messages": [{"role": "user", "content": "hi"}]}


def one_field(key: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A good body with one field fuzzed: gets past the fields checked before it."""
    return values.map(lambda value: {**VALID, key: value})


# a random schema in a good request, on every path: validated (fast answers JSON),
# raced, native, and prompted
schema_bodies = st.builds(
    lambda model, schema, stream: {
        **VALID,
        "model": model,
        "response_format": {"type": "json_schema", "json_schema": {"name": "A", "schema": schema}},
        "stream": stream,
    },
    st.sampled_from(["fast", "fast", "race:fast,slow", "native", "gpt-test"]),
    root_schemas,
    st.booleans(),
)
focused = st.one_of(
    one_field("messages", messages),
    one_field("model", json_values),
    *[one_field(key, values) for key, values in chat_fields.items()],
)
# Anthropic Messages bodies: blocks of every kind, in the right and wrong turns
blocks = st.fixed_dictionaries(
    {},
    optional={
        "type": sometimes_junk(
            st.sampled_from(["text", "tool_use", "tool_result", "image", "thinking", "x"])
        ),
        "text": sometimes_junk(texts(max_size=8)),
        "id": sometimes_junk(texts(max_size=4)),
        "name": sometimes_junk(st.sampled_from(["f", ""])),
        "input": sometimes_junk(st.dictionaries(texts(max_size=3), json_values, max_size=2)),
        "tool_use_id": sometimes_junk(texts(max_size=4)),
        "content": sometimes_junk(contents),
        "is_error": sometimes_junk(st.booleans()),
    },
)
anthropic_turns = st.lists(
    st.fixed_dictionaries(
        {
            "role": sometimes_junk(st.sampled_from(["user", "assistant", "system"])),
            "content": sometimes_junk(texts(max_size=8) | st.lists(blocks, max_size=3)),
        }
    )
    | json_values,
    min_size=1,
    max_size=3,
)
messages_bodies = st.fixed_dictionaries(
    {
        "model": sometimes_junk(st.sampled_from(MODELS)),
        "max_tokens": sometimes_junk(numbers),
        "messages": sometimes_junk(anthropic_turns),
    },
    optional={
        "system": sometimes_junk(texts(max_size=6) | st.lists(blocks, max_size=2)),
        "tools": sometimes_junk(
            st.lists(
                st.fixed_dictionaries(
                    {"name": sometimes_junk(st.sampled_from(["f", "bad name"]))},
                    optional={
                        "input_schema": sometimes_junk(root_schemas),
                        "type": sometimes_junk(st.sampled_from(["custom", "web_search"])),
                    },
                ),
                max_size=2,
            )
        ),
        "tool_choice": sometimes_junk(
            st.fixed_dictionaries(
                {"type": sometimes_junk(st.sampled_from(["auto", "any", "tool", "none", "x"]))},
                optional={"name": sometimes_junk(st.sampled_from(["f", "g"]))},
            )
        ),
        "stop_sequences": sometimes_junk(st.lists(texts(max_size=3), max_size=3)),
        "temperature": sometimes_junk(numbers),
        "stream": sometimes_junk(st.booleans()),
        "metadata": json_values,
    },
)
response_items = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "type": sometimes_junk(
                st.sampled_from(
                    ["message", "function_call", "function_call_output", "reasoning", "x"]
                )
            ),
            "role": sometimes_junk(st.sampled_from(["user", "developer", "assistant", "robot"])),
            "content": sometimes_junk(contents),
            "call_id": sometimes_junk(texts(max_size=4)),
            "name": sometimes_junk(st.sampled_from(["f", ""])),
            "arguments": sometimes_junk(st.sampled_from(["{}", "[", '{"a": 1}'])),
            "output": sometimes_junk(texts(max_size=6)),
        },
    )
    | json_values,
    max_size=3,
)
responses_bodies = st.fixed_dictionaries(
    {
        "model": sometimes_junk(st.sampled_from(MODELS)),
        "input": sometimes_junk(texts(max_size=8) | response_items),
    },
    optional={
        "instructions": sometimes_junk(texts(max_size=6)),
        "tools": sometimes_junk(
            st.lists(
                st.fixed_dictionaries(
                    {"type": sometimes_junk(st.sampled_from(["function", "web_search"]))},
                    optional={
                        "name": sometimes_junk(st.sampled_from(["f", "bad name"])),
                        "parameters": sometimes_junk(root_schemas),
                    },
                ),
                max_size=2,
            )
        ),
        "tool_choice": sometimes_junk(st.sampled_from(["auto", "none", "required", "x"])),
        "max_output_tokens": sometimes_junk(numbers),
        "previous_response_id": sometimes_junk(st.none() | texts(max_size=4)),
        "stream": sometimes_junk(st.booleans()),
    },
)
CHAT, EMBED = "/v1/chat/completions", "/v1/embeddings"
RESPONSES = "/v1/responses"
MESSAGES, COUNT = "/v1/messages", "/v1/messages/count_tokens"
requests = st.one_of(
    st.tuples(st.just(CHAT), chat_bodies.map(dumps)),
    st.tuples(st.just(CHAT), focused.map(dumps)),
    st.tuples(st.just(CHAT), schema_bodies.map(dumps)),
    st.tuples(st.just(CHAT), schema_bodies.map(dumps)),  # twice: the deepest path
    st.tuples(st.just(CHAT), json_values.map(dumps)),  # arrays, scalars, objects
    st.tuples(st.sampled_from([CHAT, EMBED]), not_utf8 | st.binary(max_size=32)),
    st.tuples(st.just(EMBED), embedding_bodies.map(dumps) | json_values.map(dumps)),
    st.tuples(st.sampled_from([MESSAGES, MESSAGES, COUNT]), messages_bodies.map(dumps)),
    st.tuples(st.sampled_from([MESSAGES, COUNT]), json_values.map(dumps) | not_utf8),
    st.tuples(st.just(RESPONSES), responses_bodies.map(dumps) | json_values.map(dumps)),
)

# -- the gateway, in a thread for the whole module ------------------------------


@attrs.define
class Gateway:
    client: httpx.Client
    leaks: list[object] = attrs.field(factory=list)


def _run_gateway(
    ready: queue.Queue[tuple[int, trio.lowlevel.TrioToken, trio.CancelScope]],
) -> list[object]:
    json_answer = Reply(text='{"a": 1, "b": ["x", 2], "c": {"a": null}}')
    routes = Routes(steps={"fast": json_answer, "slow": json_answer})
    leaks: list[object] = []

    async def main() -> None:
        async with (
            open_fake_openai_server(routes, api_key=UPSTREAM_KEY) as upstream,
            open_runtime(env={}) as rt,
        ):
            config = gateway_config(upstream)
            native = ModelRoute(
                provider="openai",
                model="native",
                options={"base_url": upstream.base_url, "api_key": UPSTREAM_KEY, "max_retries": 0},
            )
            config = attrs.evolve(config, models={**config.models, "native": native})
            async with trio.open_nursery() as nursery:
                port = await nursery.start(functools.partial(serve, rt, config, port=0))
                ready.put((port, trio.lowlevel.current_trio_token(), nursery.cancel_scope))
            # no actor crashed (a provider actor restarted) on any body
            leaks.extend(rt.actors.root.crashes)
        leaks.extend(our_tasks())

    trio.run(main)
    return leaks


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    ready: queue.Queue[tuple[int, trio.lowlevel.TrioToken, trio.CancelScope]] = queue.Queue()
    result: list[list[object]] = []
    thread = threading.Thread(target=lambda: result.append(_run_gateway(ready)), daemon=True)
    thread.start()
    port, token, scope = ready.get(timeout=30)
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
        yield Gateway(client=client)
    trio.from_thread.run_sync(scope.cancel, trio_token=token)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert result == [[]]  # no crash report, and no task of ours left


# -- the checks -----------------------------------------------------------------


def assert_refusal_status(response: httpx.Response, raw: bytes) -> None:
    """A 4xx — or a 502 when response_format's answer did not fit — never a 5xx of ours."""
    status = response.status_code
    assert 400 <= status < 500 or (status == 502 and b"response_format" in raw), (
        status,
        response.text,
        raw,
    )


def check_anthropic(response: httpx.Response, raw: bytes) -> None:
    """A 200 (a message, or events to message_stop with no error), or a 4xx
    in Anthropic's error shape."""
    status = response.status_code
    if status == 200:
        text = response.text
        if text.startswith("event: "):
            kinds = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
            assert kinds[0] == "message_start" and kinds[-1] == "message_stop", text
            assert "error" not in kinds, text
        else:
            assert isinstance(response.json(), dict)
        return
    assert_refusal_status(response, raw)
    body: Any = response.json()
    assert set(body) == {"type", "error"} and body["type"] == "error", body
    assert set(body["error"]) == {"type", "message"}, body
    assert body["error"]["message"] and body["error"]["type"] != "api_error", body


def check(response: httpx.Response, raw: bytes, path: str = "") -> None:
    if path.startswith("/v1/messages"):
        check_anthropic(response, raw)
        return
    status = response.status_code
    if status == 200:
        text = response.text
        if text.startswith("event: "):  # the Responses stream
            kinds = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
            assert kinds[0] == "response.created", text
            assert kinds[-1] == "response.completed" and "error" not in kinds, text
        elif text.startswith("data: "):
            frames = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
            assert frames[-1] == "[DONE]", text
            assert all("error" not in json.loads(f) for f in frames[:-1]), text
        else:
            assert isinstance(response.json(), dict)
        return
    assert_refusal_status(response, raw)
    body: Any = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "code", "param"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"] != "server_error"
    if status == 502:
        assert error["code"] == "response_format_not_met", error


GOOD = dumps({"model": "gpt-test", "messages": [{"role": "user", "content": "still there?"}]})


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(requests, min_size=1, max_size=4))
def test_any_body_gets_a_200_or_an_openai_shaped_4xx(
    gateway: Gateway, batch: list[tuple[str, bytes]]
) -> None:
    for path, raw in batch:
        check(gateway.client.post(path, content=raw), raw, path)
    after = gateway.client.post(CHAT, content=GOOD)
    assert after.status_code == 200, after.text
    assert after.json()["choices"][0]["message"]["content"] == "echo: still there?"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=root_schemas, value=json_values)
def test_a_schema_that_passes_the_check_never_breaks_the_validator(schema: Any, value: Any) -> None:
    if not isinstance(schema, dict):
        return
    problem = schema_problem(schema)
    try:
        model = response_model(schema)
    except ValidationError as exc:  # malformed, or not an object schema
        assert problem is None or "malformed" not in str(exc) or problem[0] in str(exc)
        return
    assert problem is None  # what the check refuses, response_model refuses too
    model.problems(value)  # and what it accepts, the validator can read: no TypeError
    model.problems(value, complete=False)
    strict_compatible(schema)
    checkable = schema_problem(schema, checkable=True)
    assert checkable is None or checkable[0]  # a path to show
