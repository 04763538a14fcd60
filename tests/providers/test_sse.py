"""SSE line splitting, and the openai-compatible adapter over bodies that real
servers send but our fake one does not: CRLF / CR line endings, lines cut
across TCP writes, and a gzip-encoded stream."""

from __future__ import annotations

import gzip
import json
import re

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from abstractcore_actors import InvalidResponse, open_runtime
from abstractcore_actors._providers._sse import LineSplitter

# Lone surrogates cannot be UTF-8 encoded: they are no text a server can send.
_line = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
    max_size=8,
)


def _reference(text: str) -> list[str]:
    """The SSE spec's lines: split at CRLF, LF or CR; an unterminated tail is a line."""
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@given(
    lines=st.lists(_line, max_size=12),
    endings=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=12, max_size=12),
    last_ended=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_lines_are_the_same_however_the_body_is_cut(
    lines: list[str], endings: list[str], last_ended: bool, cuts: list[int]
) -> None:
    text = "".join(line + ending for line, ending in zip(lines, endings, strict=False))
    if lines and not last_ended:
        text = text[: -len(endings[len(lines) - 1])]
    body = text.encode()
    splitter, got = LineSplitter(), []
    start = 0
    for cut in sorted(min(c, len(body)) for c in cuts):
        got += splitter.feed(body[start:cut])
        start = cut
    got += splitter.feed(body[start:])
    got += splitter.flush()
    assert [line.decode() for line in got] == _reference(text)


def _sse_body(pieces: list[str], ending: str) -> bytes:
    frames = [
        {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        for piece in pieces
    ]
    frames.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    frames.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
    text = "".join(f"data: {json.dumps(f)}{ending}{ending}" for f in frames)
    return (text + f": keep-alive{ending}data: [DONE]{ending}{ending}").encode()


async def _serve_raw(body: bytes, headers: dict[str, str], cut: int, task_status) -> None:  # type: ignore[no-untyped-def]
    """A real HTTP/1.1 server on 127.0.0.1 that sends `body` in `cut`-byte writes."""

    async def handle(stream: trio.SocketStream) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive_some()
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
        while len(rest) < length:
            rest += await stream.receive_some()
        lines = [f"{k}: {v}" for k, v in {**headers, "content-length": str(len(body))}.items()]
        await stream.send_all(("HTTP/1.1 200 OK\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            for i in range(0, len(body), cut):
                await stream.send_all(body[i : i + cut])
                await trio.lowlevel.checkpoint()
        except trio.BrokenResourceError:
            pass  # the client may hang up after [DONE], before a gzip trailer
        await stream.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)


@pytest.mark.parametrize(
    ("ending", "encoding", "cut"),
    [("\r\n", None, 7), ("\r", None, 5), ("\n", None, 1), ("\r\n", "gzip", 3)],
)
async def test_the_compatible_adapter_reads_every_sse_framing(
    ending: str, encoding: str | None, cut: int
) -> None:
    body = _sse_body(["Hello", ", wör", "ld"], ending)
    headers = {"content-type": "text/event-stream"}
    if encoding:
        body = gzip.compress(body)
        headers["content-encoding"] = encoding
    async with trio.open_nursery() as nursery:
        port = await nursery.start(_serve_raw, body, headers, cut)
        async with open_runtime(env={}) as rt:
            llm = rt.create_llm(
                "openai-compatible", "m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
            )
            async with llm.stream("Hi") as stream:
                texts = [chunk.text async for chunk in stream]
            answer = stream.response()
        nursery.cancel_scope.cancel()
    assert "".join(texts) == "Hello, wörld"
    assert answer.finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (3, 2)


async def test_a_malformed_data_line_names_the_line() -> None:
    body = b'data: {"choices": [\n\n'
    async with trio.open_nursery() as nursery:
        port = await nursery.start(_serve_raw, body, {"content-type": "text/event-stream"}, 4)
        async with open_runtime(env={}) as rt:
            llm = rt.create_llm(
                "openai-compatible", "m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
            )
            with pytest.raises(
                InvalidResponse, match=r"malformed SSE data line '\{\"choices\""
            ) as info:
                async with llm.stream("Hi") as stream:
                    async for _ in stream:
                        pass
        nursery.cancel_scope.cancel()
    assert "b'" not in str(info.value)  # the line is shown as text, not as a bytes repr
