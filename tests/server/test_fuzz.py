"""Any request body -> a 200 or an OpenAI-shaped 4xx; never a 500, never a hang."""

from __future__ import annotations

import json
from typing import Any

import httpx
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import open_runtime
from abstractcore_actors.server import serve
from abstractcore_actors.testing import open_fake_openai_server
from tests.leaks import our_tasks

from .conftest import KEY, UPSTREAM_KEY, Routes, gateway_config

FIELDS = [
    "model",
    "messages",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "stream",
    "stream_options",
    "n",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from([*FIELDS, "role", "content", "type", "function"]), inner)
    ),
    max_leaves=16,
)
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "system", "assistant", "tool", "developer", "x"]),
            "content": st.none() | st.text(max_size=20) | json_values,
        },
        optional={"tool_call_id": json_values, "tool_calls": json_values, "name": json_values},
    ),
    max_size=3,
)
valid = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}
mutated = st.builds(
    lambda key, value, stream: {**valid, key: value, "stream": stream},
    st.sampled_from(FIELDS),
    json_values,
    st.booleans(),
)
with_messages = st.builds(lambda m: {**valid, "messages": m}, messages)
bodies = (
    st.binary(max_size=64)
    | json_values.map(lambda v: json.dumps(v).encode())
    | (mutated | with_messages).map(lambda v: json.dumps(v).encode())
)


async def post_each(raw_bodies: list[bytes]) -> list[httpx.Response]:
    async with (
        open_fake_openai_server(Routes(), api_key=UPSTREAM_KEY) as upstream,
        open_runtime(env={}) as rt,
        trio.open_nursery() as nursery,
    ):
        config = gateway_config(upstream)
        port = await nursery.start(
            lambda task_status: serve(rt, config, port=0, task_status=task_status)
        )
        headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
        responses = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for raw in raw_bodies:
                with trio.fail_after(5):
                    r = await http.post("/v1/chat/completions", content=raw, headers=headers)
                    await r.aread()
                responses.append(r)
        nursery.cancel_scope.cancel()
    assert our_tasks() == []
    return responses


def check(response: httpx.Response) -> None:
    status = response.status_code
    assert status == 200 or 400 <= status < 500, (status, response.text)
    if status == 200:
        text = response.text
        assert text.startswith("{") or text.rstrip().endswith("data: [DONE]")
        return
    body: Any = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code", "param"}
    assert isinstance(body["error"]["message"], str)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bodies, min_size=1, max_size=5))
def test_any_body_gets_a_200_or_an_openai_shaped_4xx(raw_bodies: list[bytes]) -> None:
    for response in trio.run(post_each, raw_bodies):
        check(response)
