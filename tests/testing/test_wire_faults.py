"""Faults, timing and connections on the wire, with plain httpx and raw sockets:
RST vs FIN, truncation, error events, pacing under a MockClock, prompt
detection of a client that goes away, connection counts."""

from __future__ import annotations

import errno
import json

import httpx
import pytest
import trio
import trio.testing

from abstractcore_actors.testing import (
    Fault,
    Reply,
    Step,
    open_fake_anthropic_server,
    open_fake_openai_server,
)

from .conftest import CHAT, DEADLINE, MESSAGES, sse_data, sse_events

STREAM = {**CHAT, "stream": True}


async def test_garbage_gets_a_400_and_a_closed_connection() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server() as server:
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
            received = b""
            while chunk := await stream.receive_some():
                received += chunk
            await stream.aclose()
            await server.wait_for_connections(0)
    assert received.startswith(b"HTTP/1.1 400 ")
    assert server.requests == []


async def test_leaving_the_block_closes_every_connection() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server() as server:
            streams = [await trio.open_tcp_stream("127.0.0.1", server.port) for _ in range(3)]
            await server.wait_for_connections(3)
            assert server.total_connections == 3
        for stream in streams:
            assert await stream.receive_some() == b""  # EOF: the server closed it
            await stream.aclose()
    assert (server.open_connections, server.closed_connections) == (0, 3)


async def _read_until_error(url: str, body: dict[str, object]) -> BaseException:
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.TransportError) as caught:
            async with client.stream("POST", url, json=body) as response:
                async for _ in response.aiter_bytes():
                    pass
    return caught.value


@pytest.mark.parametrize("stream", [True, False])
async def test_reset_is_a_tcp_rst_not_a_clean_close(stream: bool) -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([Fault.reset(after_chunks=1)]) as server:
            error = await _read_until_error(
                f"{server.base_url}/chat/completions", {**CHAT, "stream": stream}
            )
    assert isinstance(error, httpx.ReadError)
    cause = error.__cause__ or error.__context__
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    assert "reset by peer" in str(error) or (cause is not None and cause.errno == errno.ECONNRESET)


async def test_non_stream_truncate_cuts_the_body_short() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Fault.truncate()]) as server:
            error = await _read_until_error(f"{server.base_url}/v1/messages", MESSAGES)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert "incomplete" in str(error) or "complete message body" in str(error)


@pytest.mark.parametrize("after", [0, 2])
async def test_stream_truncate_ends_without_the_end_marker(after: int) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server([Fault.truncate(after_chunks=after)]) as openai_server,
            open_fake_anthropic_server([Fault.truncate(after_chunks=after)]) as claude,
            httpx.AsyncClient() as client,
        ):
            chat = await client.post(f"{openai_server.base_url}/chat/completions", json=STREAM)
            body = {**MESSAGES, "stream": True}
            messages = await client.post(f"{claude.base_url}/v1/messages", json=body)
    assert chat.status_code == messages.status_code == 200  # a clean end of the HTTP body
    # OpenAI's stream opens with a role-only frame, before the first counted chunk
    assert len(sse_data(chat.text)) == 1 + after and "[DONE]" not in chat.text
    names = [name for name, _ in sse_events(messages.text)]
    assert names.count("content_block_delta") == after and "message_stop" not in names


async def test_non_stream_faults_without_a_connection_fault() -> None:
    script: list[Step] = [
        Fault.malformed(),
        Fault.sse_error(message="busy"),
        Fault.status(429, "slow down", retry_after=1.5),
    ]
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server(list(script)) as openai_server,
            open_fake_anthropic_server(list(script)) as claude,
            httpx.AsyncClient() as client,
        ):
            chat = [
                await client.post(f"{openai_server.base_url}/chat/completions", json=CHAT)
                for _ in script
            ]
            msgs = [
                await client.post(f"{claude.base_url}/v1/messages", json=MESSAGES) for _ in script
            ]
    assert chat[0].status_code == msgs[0].status_code == 200
    assert chat[0].content == msgs[0].content == b"{not json"
    assert chat[1].status_code == 500 and chat[1].json()["error"]["message"] == "busy"
    assert msgs[1].status_code == 529
    assert msgs[1].json()["error"] == {"type": "overloaded_error", "message": "busy"}
    assert chat[2].status_code == msgs[2].status_code == 429
    assert chat[2].headers["retry-after"] == msgs[2].headers["retry-after"] == "1.5"
    assert chat[2].json()["error"]["type"] == "rate_limit_exceeded"
    assert msgs[2].json()["error"] == {"type": "rate_limit_error", "message": "slow down"}


async def test_mid_stream_error_events() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            open_fake_openai_server([Fault.sse_error(after_chunks=1)]) as openai_server,
            open_fake_anthropic_server([Fault.sse_error(after_chunks=1)]) as claude,
            open_fake_anthropic_server([Fault.malformed(after_chunks=1)]) as bad,
            httpx.AsyncClient() as client,
        ):
            chat = await client.post(f"{openai_server.base_url}/chat/completions", json=STREAM)
            body = {**MESSAGES, "stream": True}
            messages = await client.post(f"{claude.base_url}/v1/messages", json=body)
            malformed = await client.post(f"{bad.base_url}/v1/messages", json=body)
    data = sse_data(chat.text)
    assert len(data) == 3 and json.loads(data[2])["error"]["message"] == "Overloaded"
    assert sse_events(messages.text)[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    assert malformed.text.endswith("event: content_block_delta\ndata: {not json\n\n")


async def test_latency_paces_the_stream(autojump_clock: trio.testing.MockClock) -> None:
    reply = Reply(chunks=["a", "b", "c"], ttft=2, token_latency=0.5)
    script: list[Step] = [reply, Fault.stall(30, after_chunks=1, reply=reply)]
    arrivals: list[list[float]] = []
    with trio.fail_after(DEADLINE + 60):
        async with (
            open_fake_openai_server(script) as server,
            httpx.AsyncClient(timeout=60) as client,
        ):
            for _ in script:
                start = trio.current_time()
                times = []
                async with client.stream(
                    "POST", f"{server.base_url}/chat/completions", json=STREAM
                ) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data: "):
                            times.append(trio.current_time() - start)
                arrivals.append(times)
    # the role frame and chunk 1 after the ttft, then one per token_latency;
    # the finish chunk and [DONE] follow the last piece at once
    assert arrivals[0] == pytest.approx([2, 2, 2.5, 3, 3, 3], abs=1e-6)
    assert arrivals[1] == pytest.approx([2, 2, 32.5, 33, 33, 33], abs=1e-6)


async def test_non_stream_waits_for_ttft_and_stall(autojump_clock: trio.testing.MockClock) -> None:
    script: list[Step] = [
        Reply(text="x", ttft=3),
        Fault.stall(20, ttft=1),
        Fault.status(500, ttft=4),
    ]
    took = []
    with trio.fail_after(DEADLINE + 30):
        async with (
            open_fake_openai_server(script) as server,
            httpx.AsyncClient(timeout=60) as client,
        ):
            for _ in script:
                start = trio.current_time()
                await client.post(f"{server.base_url}/chat/completions", json=CHAT)
                took.append(trio.current_time() - start)
    assert took == pytest.approx([3, 21, 4], abs=1e-6)


async def test_a_client_leaving_mid_wait_is_noticed_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slow = Reply(chunks=["a"] * 10, token_latency=100)
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server([slow]) as server, httpx.AsyncClient() as client:
            request = client.build_request(
                "POST", f"{server.base_url}/chat/completions", json=STREAM
            )
            response = await client.send(request, stream=True)
            async for _ in response.aiter_lines():
                break
            assert (server.active_requests, server.open_connections) == (1, 1)
            await response.aclose()
            start = trio.current_time()
            await server.wait_for_connections(0)
            assert trio.current_time() - start < 1  # not at the next write, 100 s later
            assert server.active_requests == 0
            assert server.closed_connections == 1


async def test_a_client_leaving_during_the_ttft_is_noticed_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_anthropic_server([Reply(text="late", ttft=1000)]) as server:
            async with httpx.AsyncClient() as client:
                with trio.move_on_after(1):  # the caller gives up: httpx closes the socket
                    await client.post(f"{server.base_url}/v1/messages", json=MESSAGES)
                await server.wait_for_connections(0)  # while the client is still open
            assert trio.current_time() < 5
    assert server.closed_connections == 1


async def test_wait_for_connections_waits_for_the_count() -> None:
    with trio.fail_after(DEADLINE):
        async with open_fake_openai_server() as server, trio.open_nursery() as nursery:
            counts: list[int] = []

            async def watch() -> None:
                await server.wait_for_connections(2)
                counts.append(server.total_connections)

            nursery.start_soon(watch)
            first = await trio.open_tcp_stream("127.0.0.1", server.port)
            await server.wait_for_connections(1)
            assert counts == []
            second = await trio.open_tcp_stream("127.0.0.1", server.port)
            await server.wait_for_connections(2)
            await first.aclose()
            await second.aclose()
            await server.wait_for_connections(0)
    assert counts == [2]
