"""A 5xx that blames the request is a bad request: not retried, not counted.

Self-hosted servers answer requests they cannot serve with a 5xx. Retrying
cannot help, and counting them in the shared circuit breaker would lock every
tenant out of a healthy server. Each body below is the shape a real server
sends (from their sources and docs), written byte for byte by a raw HTTP
server on 127.0.0.1. The breaker also counts failed *calls*, not attempts.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    LLM,
    BadRequest,
    CircuitOpen,
    ProviderUnavailable,
    Runtime,
    UnsupportedOperation,
)
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply
from tests.providers.raw_http import RawConnection, open_raw_server, response

from .conftest import API_KEY

VENDOR_BODIES: list[tuple[str, int, object, type[BadRequest]]] = [
    (
        "llama.cpp json_schema",
        500,
        {
            "error": {
                "code": 500,
                "message": "Unsupported param: json_schema",
                "type": "server_error",
            }
        },
        UnsupportedOperation,
    ),
    (
        "llama.cpp no --embeddings",
        501,
        {
            "error": {
                "code": 501,
                "message": "This server does not support embeddings. Start it with `--embeddings`",
                "type": "not_supported_error",
            }
        },
        UnsupportedOperation,
    ),
    (
        "vLLM",
        500,
        {"object": "error", "message": "max_tokens must be at least 1", "type": "BadRequestError"},
        BadRequest,
    ),
    (
        "Ollama",
        500,
        {"error": "json: cannot unmarshal string into Go struct field .options of type int"},
        BadRequest,
    ),
    (
        "TGI",
        500,
        {"error": "Input validation error: `top_p` must be > 0.0", "error_type": "validation"},
        BadRequest,
    ),
    (
        "LM Studio",
        500,
        {"error": "Invalid 'response_format': expected json_schema"},
        BadRequest,
    ),
]


@pytest.mark.parametrize(
    ("server_name", "status", "body", "error"), VENDOR_BODIES, ids=[v[0] for v in VENDOR_BODIES]
)
async def test_a_5xx_blaming_the_request_is_a_bad_request_not_retried_not_counted(
    rt: Runtime,
    autojump_clock: trio.testing.MockClock,
    server_name: str,
    status: int,
    body: object,
    error: type[BadRequest],
) -> None:
    raw = json.dumps(body).encode()

    async def answer(conn: RawConnection, request: bytes) -> bool:
        if b'"content":"good"' in request.replace(b" ", b""):
            ok = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}}]}
            await conn.send(response(json.dumps(ok).encode(), headers="content-type: x\r\n"))
        else:
            await conn.send(response(raw, status=f"{status} Oops"))
        return True

    async with open_raw_server(answer) as server:
        llm = rt.create_llm(
            "openai-compatible",
            "m",
            base_url=server.base_url,
            api_key=API_KEY,
            max_retries=3,
            failure_threshold=2,
        )
        with trio.fail_after(30):
            for _ in range(6):  # three times the breaker's threshold
                with pytest.raises(error) as caught:
                    await llm.generate("bad")
            assert len(server.requests) == 6  # one each: no retry
            assert (await llm.generate("good")).content == "fine"  # breaker still closed
    message = str(caught.value)
    assert caught.value.status_code == status
    assert "check base_url" not in message  # advice that fits: the request, not the server
    assert "blames the request" in message


async def test_a_generic_5xx_is_still_the_server_s_and_retried(
    rt: Runtime, openai_server: FakeOpenAIServer, autojump_clock: trio.testing.MockClock
) -> None:
    sorry = "The server had an error while processing your request. Sorry about that!"
    openai_server.push(Fault.status(500, sorry))
    openai_server.push(Reply(text="second try"))
    llm = rt.create_llm("openai-compatible", "m", base_url=openai_server.base_url, api_key=API_KEY)
    with trio.fail_after(30):
        assert (await llm.generate("hi")).content == "second try"


@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_the_breaker_counts_failed_calls_not_attempts(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    autojump_clock: trio.testing.MockClock,
    streaming: bool,
) -> None:
    llm = make_openai_llm(max_retries=2, failure_threshold=2)

    async def call() -> None:
        if streaming:
            async with llm.stream("hi") as stream:
                async for _ in stream:
                    pass
        else:
            await llm.generate("hi")

    with trio.fail_after(60):
        for _ in range(3):
            openai_server.push(Fault.status(503))
        with pytest.raises(ProviderUnavailable) as first:
            await call()  # three failed attempts: one failed call
        assert not isinstance(first.value, CircuitOpen)
        assert len(openai_server.requests) == 3
        openai_server.push(Reply(text="ok"))
        await call()  # the breaker is still closed (the old count of attempts opened it)
        for _ in range(6):
            openai_server.push(Fault.status(503))
        for _ in range(2):
            with pytest.raises(ProviderUnavailable):
                await call()
        with pytest.raises(CircuitOpen):  # two failed calls in a row: open
            await call()
