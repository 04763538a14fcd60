"""The fake wire servers checked on the wire with plain httpx: the vendors'
formats, keep-alive, API keys, other endpoints, scripting and recording."""

from __future__ import annotations

import json

import httpx
import pytest
import trio
import trio.testing

from abstractcore_actors.testing import (
    FakeToolCall,
    Fault,
    RecordedRequest,
    Reply,
    Step,
    open_fake_anthropic_server,
    open_fake_openai_server,
)

from .conftest import CHAT, DEADLINE, MESSAGES, sse_data, sse_events

STREAM = {**CHAT, "stream": True}


async def test_openai_sse_follows_the_documented_format() -> None:
    body = {**STREAM, "stream_options": {"include_usage": True}}
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server([Reply(chunks=["Hi", " you"])]) as server,
            httpx.AsyncClient() as client,
        ):
            response = await client.post(f"{server.base_url}/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-request-id"].startswith("req_")
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert len(chunks) == 5  # the role, two pieces, the finish chunk, the usage chunk
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "gpt-test"  # the model the request named
        assert {"id", "created"} <= chunk.keys()
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[1]["choices"][0]["delta"] == {"content": "Hi"}
    assert chunks[2]["choices"][0]["delta"] == {"content": " you"}
    assert [c["choices"][0]["finish_reason"] for c in chunks[:4]] == [None, None, None, "stop"]
    assert [c["usage"] for c in chunks[:4]] == [None, None, None, None]
    assert chunks[4]["choices"] == []
    assert chunks[4]["usage"] == {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}


async def test_openai_sends_no_usage_chunk_unless_asked() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server([Reply(text="a b c")]) as server,
            httpx.AsyncClient() as client,
        ):
            response = await client.post(f"{server.base_url}/chat/completions", json=STREAM)
    chunks = [json.loads(d) for d in sse_data(response.text)[:-1]]
    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "a b c"


async def test_openai_tool_call_deltas() -> None:
    calls = [FakeToolCall(name="f", arguments={"x": 1}), FakeToolCall(name="g", arguments="{oops")]
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server([Reply(tool_calls=calls)]) as server,
            httpx.AsyncClient() as client,
        ):
            response = await client.post(f"{server.base_url}/chat/completions", json=STREAM)
    chunks = [json.loads(d) for d in sse_data(response.text)[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    deltas = deltas[1:]
    first = deltas[0]["tool_calls"][0]
    assert first == {
        "index": 0,
        "id": "call_0",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    arguments: dict[int, str] = {}
    for delta in deltas[:-1]:
        (call,) = delta["tool_calls"]
        arguments[call["index"]] = arguments.get(call["index"], "") + call["function"]["arguments"]
    assert json.loads(arguments[0]) == {"x": 1}
    assert arguments[1] == "{oops"  # a str is sent verbatim
    heads = [d["tool_calls"][0] for d in deltas[:-1] if "id" in d["tool_calls"][0]]
    assert [(h["index"], h["id"], h["function"]["name"]) for h in heads] == [
        (0, "call_0", "f"),
        (1, "call_1", "g"),
    ]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_anthropic_events_come_in_the_documented_order() -> None:
    reply = Reply(chunks=["a", "b"], tool_calls=[FakeToolCall(name="f", arguments={"x": 1})])
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([reply]) as server, httpx.AsyncClient() as client:
            body = {**MESSAGES, "stream": True}
            response = await client.post(f"{server.base_url}/v1/messages", json=body)
    assert response.headers["request-id"].startswith("req_")
    events = sse_events(response.text)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in events)  # the data repeats the name
    start = events[0][1]["message"]
    assert start["role"] == "assistant" and start["content"] == [] and start["stop_reason"] is None
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert events[6][1] == {
        "type": "content_block_start",
        "index": 1,
        "content_block": {"type": "tool_use", "id": "toolu_0", "name": "f", "input": {}},
    }
    partial = "".join(data["delta"]["partial_json"] for _, data in events[7:9])
    assert json.loads(partial) == {"x": 1}
    assert events[7][1]["delta"]["type"] == "input_json_delta"
    assert events[10][1]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    # cumulative counts, input too, as the current API sends them; 5 = 2 text + start + 2 pieces
    assert events[10][1]["usage"] == {"input_tokens": 2, "output_tokens": 5}


async def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server() as server, httpx.AsyncClient() as client:
            for _ in range(3):
                response = await client.post(f"{server.base_url}/chat/completions", json=CHAT)
                assert response.json()["choices"][0]["message"]["content"] == "echo: hello there"
            assert (server.total_connections, server.open_connections) == (1, 1)
            assert len(server.requests) == 3


async def test_openai_api_key_is_checked_when_set() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server(api_key="sk-right") as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            wrong = await client.post(
                "/chat/completions", json=CHAT, headers={"Authorization": "Bearer sk-wrong"}
            )
            missing = await client.get("/models")
            right = await client.post(
                "/chat/completions", json=CHAT, headers={"Authorization": "Bearer sk-right"}
            )
    assert wrong.status_code == missing.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert right.status_code == 200


async def test_anthropic_api_key_is_checked_in_either_header() -> None:
    url = "/v1/messages"
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_anthropic_server(api_key="k1") as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):
            wrong = await client.post(url, json=MESSAGES, headers={"x-api-key": "k2"})
            by_key = await client.post(url, json=MESSAGES, headers={"x-api-key": "k1"})
            by_bearer = await client.post(
                url, json=MESSAGES, headers={"authorization": "Bearer k1"}
            )
    assert wrong.status_code == 401
    assert wrong.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    assert by_key.status_code == by_bearer.status_code == 200


async def test_models_embeddings_and_unknown_routes() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server() as server, httpx.AsyncClient() as client:
            models = (await client.get(f"{server.base_url}/models")).json()
            url = f"{server.base_url}/embeddings"
            pair = await client.post(url, json={"model": "e", "input": ["a", "b"]})
            single = await client.post(url, json={"model": "e", "input": "a"})
            missing = await client.get(f"{server.base_url}/nowhere")
        async with open_fake_anthropic_server() as server, httpx.AsyncClient() as client:
            claude = (await client.get(f"{server.base_url}/v1/models")).json()
    assert models["object"] == "list" and models["data"][0]["id"] == "gpt-test"
    vectors = [d["embedding"] for d in pair.json()["data"]]
    assert len(vectors) == 2 and len(vectors[0]) == 8 and vectors[0] != vectors[1]
    assert all(-1 <= x < 1 for x in vectors[0])
    assert single.json()["data"][0]["embedding"] == vectors[0]  # deterministic
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"message", "type", "code", "param"}
    assert claude["data"][0]["type"] == "model" and claude["has_more"] is False


async def test_script_in_order_then_push_then_default() -> None:
    script: list[Step] = [Reply(text="one"), Fault.status(503)]
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server(script, default=Reply(text="fallback")) as server,
            httpx.AsyncClient(base_url=server.base_url) as client,
        ):

            async def ask() -> httpx.Response:
                return await client.post("/chat/completions", json=CHAT)

            first, second, third = await ask(), await ask(), await ask()
            server.push(Reply(text="pushed"))
            fourth = await ask()
            await client.get("/models")  # not a chat request: takes no step
            fifth = await ask()
    texts = [r.json()["choices"][0]["message"]["content"] for r in (first, third, fourth, fifth)]
    assert texts == ["one", "fallback", "pushed", "fallback"]
    assert second.status_code == 503 and second.json()["error"]["type"] == "server_error"


async def test_a_script_function_sees_the_recorded_request() -> None:
    seen: list[RecordedRequest] = []

    def route(request: RecordedRequest) -> Step:
        seen.append(request)
        model = request.json["model"] if isinstance(request.json, dict) else "?"
        return Reply(text=f"model {model}")

    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server(route) as server, httpx.AsyncClient() as client:
            response = await client.post(
                f"{server.base_url}/v1/messages?beta=1",
                json=MESSAGES,
                headers={"X-Api-Key": "secret", "Anthropic-Version": "2023-06-01"},
            )
            await client.post(f"{server.base_url}/v1/messages", content=b"not json")
    assert response.json()["content"] == [{"type": "text", "text": "model claude-test"}]
    request = seen[0]
    assert (request.method, request.path) == ("POST", "/v1/messages?beta=1")
    assert request.headers["x-api-key"] == "secret"  # names lower-cased, values kept
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert json.loads(request.body) == MESSAGES == request.json
    assert server.requests[1].json is None and server.requests[1].body == b"not json"


async def test_the_default_echoes_the_last_user_message_of_either_shape() -> None:
    blocks = [{"role": "user", "content": [{"type": "text", "text": "in blocks"}]}]
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server() as server, httpx.AsyncClient() as client:
            body = {**MESSAGES, "messages": blocks}
            message = (await client.post(f"{server.base_url}/v1/messages", json=body)).json()
    assert message["content"][0]["text"] == "echo: in blocks"
    assert message["stop_reason"] == "end_turn" and message["stop_sequence"] is None
    assert message["usage"] == {"input_tokens": 2, "output_tokens": 3}


async def test_a_script_function_that_raises_fails_the_block() -> None:
    def broken(request: RecordedRequest) -> Step:
        raise LookupError("no route for this prompt")

    with pytest.RaisesGroup(LookupError, flatten_subgroups=True), trio.fail_after(DEADLINE):
        async with open_fake_openai_server(broken) as server, httpx.AsyncClient() as client:
            with pytest.raises(httpx.TransportError):
                await client.post(f"{server.base_url}/chat/completions", json=CHAT)
            await trio.sleep_forever()  # cancelled by the failing server


async def test_a_host_name_serves_on_one_port() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_anthropic_server(host="localhost") as server,
            httpx.AsyncClient() as client,
        ):
            assert server.base_url == f"http://localhost:{server.port}"
            response = await client.post(f"{server.base_url}/v1/messages", json=MESSAGES)
    assert response.json()["content"][0]["text"] == "echo: hello there"
