"""Text that cannot be encoded is the client's 400, checked before any upstream call.

JSON may carry a lone surrogate as the legal escape "\\ud800"; decoded, it is a
str that UTF-8 cannot encode. It once crashed the provider actor (streamed)
or came back as a 502 blaming the upstream after three retries (not
streamed); 11 such requests ended the gateway process.
"""

from __future__ import annotations

import json

import httpx
import pytest
import trio

from abstractcore_actors.testing import FakeOpenAIServer

from .conftest import DEADLINE, assert_openai_error

HI = {"role": "user", "content": "hi"}
CASES = [
    ({"messages": [{"role": "user", "content": "hi \ud800"}]}, "messages[0].content"),
    ({"messages": [{"role": "system", "content": "\udfff"}, HI]}, "messages[0].content"),
    (
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "a\udc80"}]}]},
        "messages[0].content",
    ),
    ({"messages": [HI], "stop": ["\ud800"]}, "stop[0]"),
]


@pytest.mark.parametrize(("fields", "field"), CASES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_lone_surrogate_is_a_400_naming_the_field(
    http: httpx.AsyncClient,
    upstream: FakeOpenAIServer,
    fields: dict[str, object],
    field: str,
    stream: bool,
) -> None:
    body = json.dumps({"model": "gpt-test", "stream": stream, **fields})  # "\\ud800" escapes
    assert "\\ud" in body or "\\udfff" in body
    with trio.fail_after(DEADLINE):
        for _ in range(12):  # more than the root supervisor's restart intensity
            response = await http.post("/v1/chat/completions", content=body.encode())
            error = assert_openai_error(response, 400)
            assert error["type"] == "invalid_request_error"
            assert field in str(error["message"]), error
            assert "surrogate" in str(error["message"])
        good = await http.post("/v1/chat/completions", json={"model": "gpt-test", "messages": [HI]})
    assert good.status_code == 200, good.text
    assert len(upstream.requests) == 1  # only the good one went upstream
