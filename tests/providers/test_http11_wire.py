"""Http11Client on the wire: every HTTP/1.1 framing a server may choose, servers
that misbehave, the request bytes it sends, and the headers it refuses.

Each case is a raw trio server on 127.0.0.1 writing the response bytes by
hand (so nothing of ours frames them), or h11 as the server; a hypothesis
test checks the body read back against the body sent for random framings,
compressions and TCP splits.
"""

from __future__ import annotations

import gzip
import socket
import struct
import zlib

import h11
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from abstractcore_actors import open_runtime
from abstractcore_actors._providers._http11 import Http11Client
from abstractcore_actors._providers._http11_wire import Origin
from abstractcore_actors._providers._transport import (
    TransportCutShort,
    TransportUnavailable,
)
from abstractcore_actors.errors import ConfigurationError
from tests.providers.raw_http import (
    Answer,
    RawConnection,
    RawServer,
    open_raw_server,
    response,
)

BODY = b'{"model":"m","messages":[]}'
SECRET = "sk-secret-0123456789abcdef"


def client_for(base_url: str, headers: dict[str, str] | None = None) -> Http11Client:
    return Http11Client(
        base_url,
        headers or {"Authorization": f"Bearer {SECRET}"},
        connect_timeout=5,
        read_timeout=30,
        max_keepalive=4,
    )


def answering(raw: bytes, *, keep: bool = True) -> Answer:
    """A server answer writing `raw` for each request; `keep=False` closes after it."""

    async def answer(conn: RawConnection, request: bytes) -> bool:
        await conn.send(raw)
        return keep

    return answer


async def read_all(client: Http11Client, *, streaming: bool = False) -> bytes:
    answer = await client.post("/chat/completions", BODY)
    if not streaming:
        return await answer.read()
    pieces = []
    while piece := await answer.receive_some():
        pieces.append(piece)
    return b"".join(pieces)


async def twice(server: RawServer, client: Http11Client) -> list[bytes]:
    """Two calls in a row, and proof that both went over one socket."""
    bodies = [await read_all(client), await read_all(client, streaming=True)]
    assert server.total_connections == 1
    assert client.idle_connections == client.open_connections == 1
    await client.aclose()
    return bodies


async def test_a_content_length_body_is_read_and_its_connection_reused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_raw_server(answering(response(b'{"ok":1}'))) as server:
        assert await twice(server, client_for(server.base_url)) == [b'{"ok":1}'] * 2


async def test_a_chunked_body_with_extensions_and_trailers_is_read_and_reused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Digest\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b'7;quoted="a b"\r\n, world\r\n'
        b"0\r\nX-Digest: abc\r\n\r\n"
    )
    async with open_raw_server(answering(raw)) as server:
        assert await twice(server, client_for(server.base_url)) == [b"hello, world"] * 2


async def test_h11_as_the_server_chunked_and_keep_alive() -> None:
    # a server framing we did not write: h11 picks chunked (no length given)
    async def answer(conn: RawConnection, request: bytes) -> bool:
        h11_conn = h11.Connection(h11.SERVER)
        h11_conn.receive_data(request)
        assert isinstance(h11_conn.next_event(), h11.Request)
        out = h11_conn.send(h11.Response(status_code=200, headers=[("X-Server", "h11")]))
        for part in (b"data: 1\n\n", b"data: [DONE]\n\n"):
            out += h11_conn.send(h11.Data(data=part))
        out += h11_conn.send(h11.EndOfMessage())
        await conn.send(out)
        return True

    async with open_raw_server(answer) as server:
        client = client_for(server.base_url)
        answer_ = await client.post("/chat/completions", BODY)
        assert answer_.headers["x-server"] == "h11"
        assert answer_.headers["transfer-encoding"] == "chunked"
        assert await answer_.read() == b"data: 1\n\ndata: [DONE]\n\n"
        assert await read_all(client) == b"data: 1\n\ndata: [DONE]\n\n"
        assert server.total_connections == 1
        await client.aclose()


@pytest.mark.parametrize("streaming", [False, True])
async def test_a_body_delimited_by_the_close_is_read_whole_and_not_reused(
    streaming: bool, autojump_clock: trio.testing.MockClock
) -> None:
    raw = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it, until the close"
    async with open_raw_server(answering(raw, keep=False)) as server:
        client = client_for(server.base_url)
        assert await read_all(client, streaming=streaming) == b"all of it, until the close"
        assert client.open_connections == 0
        await read_all(client)
        assert server.total_connections == 2
        await client.aclose()


async def test_connection_close_with_a_length_is_not_reused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def answer(conn: RawConnection, request: bytes) -> bool:
        # the server says close but leaves it to the client to do it
        await conn.send(response(b"bye", headers="Connection: close\r\n"))
        await conn.wait_closed()
        return False

    async with open_raw_server(answer) as server:
        client = client_for(server.base_url)
        assert await read_all(client) == b"bye"
        assert client.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        await client.aclose()


INTERIM = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    + response(b"final", status="201 Created", headers="X-Final: yes\r\n")
)


@pytest.mark.parametrize(
    "cuts",
    [[], [25], [25, 90], list(range(len(INTERIM)))],
    ids=["one-write", "after-100", "mid-final-head", "byte-by-byte"],
)
async def test_interim_1xx_responses_before_the_answer_are_skipped(
    cuts: list[int], autojump_clock: trio.testing.MockClock
) -> None:
    async def answer(conn: RawConnection, request: bytes) -> bool:
        await conn.send_split(INTERIM, cuts)
        return True

    async with open_raw_server(answer) as server:
        client = client_for(server.base_url)
        for _ in range(2):
            answer = await client.post("/chat/completions", BODY)
            assert answer.status == 201
            assert answer.headers["x-final"] == "yes"
            assert "link" not in answer.headers  # the hint's headers are not the answer's
            assert await answer.read() == b"final"
        assert server.total_connections == 1
        await client.aclose()


COMPRESSED = {
    "gzip": gzip.compress(b'{"text":"' + b"squeeze " * 500 + b'"}'),
    "deflate": zlib.compress(b'{"text":"' + b"squeeze " * 500 + b'"}'),
}


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_gzip_and_deflate_bodies_are_decoded(
    encoding: str, autojump_clock: trio.testing.MockClock
) -> None:
    raw = response(COMPRESSED[encoding], headers=f"Content-Encoding: {encoding}\r\n")
    async with open_raw_server(answering(raw)) as server:
        bodies = await twice(server, client_for(server.base_url))
        assert bodies == [b'{"text":"' + b"squeeze " * 500 + b'"}'] * 2
        request = server.requests[0].lower()
        assert b"\r\naccept-encoding: gzip, deflate\r\n" in request


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (response(b"x", headers="Content-Encoding: br\r\n"), "encoded with 'br'"),
        (response(b"not gzip at all", headers="Content-Encoding: gzip\r\n"), "corrupt"),
        (
            response(gzip.compress(b"x" * 1000)[:-12], headers="Content-Encoding: gzip\r\n"),
            "ends before",
        ),
        (b"HTTP/1.1 OK 200\r\n\r\n", "not well-formed"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not well-formed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n", "not well-formed"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nonly half", "mid-body"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "mid-body"),
        (b"HTTP/1.1 200 OK\r\nContent-Le", "without a response"),
        (b"", "without a response"),
    ],
    ids=[
        "unknown-encoding",
        "corrupt-gzip",
        "truncated-gzip",
        "bad-status-line",
        "not-http",
        "bad-length",
        "short-length",
        "unterminated-chunked",
        "half-a-head",
        "nothing",
    ],
)
async def test_a_misbehaving_server_is_transport_cut_short_and_nothing_leaks(
    raw: bytes, match: str, autojump_clock: trio.testing.MockClock
) -> None:
    async with open_raw_server(answering(raw, keep=False)) as server:
        client = client_for(server.base_url)
        with pytest.raises(TransportCutShort, match=match):
            await read_all(client)
        assert client.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        await client.aclose()


async def test_a_reset_mid_body_is_transport_unavailable() -> None:
    async def answer(conn: RawConnection, request: bytes) -> bool:
        await conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
        await trio.sleep(0.05)  # the client has the head and waits for the rest
        linger = struct.pack("ii", 1, 0)  # close with a RST, not a FIN
        tcp = conn.stream
        assert isinstance(tcp, trio.SocketStream)
        tcp.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        return False

    async with open_raw_server(answer) as server:
        client = client_for(server.base_url)
        answer_ = await client.post("/chat/completions", BODY)
        with trio.fail_after(5), pytest.raises(TransportUnavailable, match="broke"):
            await answer_.read()
        assert client.open_connections == 0
        await client.aclose()


async def test_header_names_are_lower_case_and_repeated_ones_joined(
    autojump_clock: trio.testing.MockClock,
) -> None:
    raw = response(
        b"{}",
        headers="X-Thing: a\r\nx-THING: b\r\nRetry-After: 3\r\nContent-Type: application/json\r\n",
    )
    async with open_raw_server(answering(raw)) as server:
        client = client_for(server.base_url)
        answer = await client.post("/chat/completions", BODY)
        assert answer.headers["x-thing"] == "a, b"
        assert answer.headers["retry-after"] == "3"
        assert answer.headers["content-type"] == "application/json"
        assert all(name == name.lower() for name in answer.headers)
        await answer.read()
        await client.aclose()


async def test_the_request_target_host_and_head_on_the_wire(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_raw_server(answering(response(b"{}"))) as server:
        client = client_for(
            f"http://127.0.0.1:{server.port}/prefix/v1/", {"Authorization": "Bearer k", "X-A": "1"}
        )
        await read_all(client)
        await client.aclose()
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /prefix/v1/chat/completions HTTP/1.1"
    fields = [line.split(b": ", 1) for line in lines[1:]]
    names = [name.lower() for name, _ in fields]
    assert len(names) == len(set(names))  # no header twice
    headers = {name.lower(): value for name, value in fields}
    assert headers[b"host"] == f"127.0.0.1:{server.port}".encode()
    assert headers[b"content-length"] == str(len(BODY)).encode()
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"authorization"] == b"Bearer k"
    assert headers[b"x-a"] == b"1"
    assert body == BODY


@pytest.mark.parametrize(
    ("base_url", "authority", "prefix"),
    [
        ("http://example.com/v1", "example.com", "/v1"),
        ("http://example.com:80/v1", "example.com", "/v1"),  # the default port is not sent
        ("https://example.com:443/api/v1/", "example.com", "/api/v1"),
        ("https://example.com:8443", "example.com:8443", ""),
        ("http://[::1]:8080/v1", "[::1]:8080", "/v1"),
        ("http://[::1]/v1", "[::1]", "/v1"),
    ],
)
def test_the_host_header_leaves_out_a_default_port(
    base_url: str, authority: str, prefix: str
) -> None:
    origin = Origin(base_url)
    assert (origin.authority, origin.prefix) == (authority, prefix)


@pytest.mark.parametrize(
    ("base_url", "match"),
    [
        ("ftp://host/v1", "http:// or https://"),
        ("localhost:8080/v1", "http:// or https://"),
        ("http:///v1", "with a host"),
        ("http://host:99999/v1", "port"),
    ],
)
def test_a_base_url_that_is_not_http_is_a_configuration_error(base_url: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        client_for(base_url)


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("X Bad", "v", "'X Bad' is not a valid HTTP header name"),
        ("X-Key:", "v", "'X-Key:' is not a valid HTTP header name"),
        ("Authorization", f"Bearer {SECRET}\r\nX-Evil: 1", "'Authorization'.*line break"),
        ("X-Api-Key", f"{SECRET}\n", "'X-Api-Key'.*line break"),
        ("X-Api-Key", f"{SECRET}\0", "'X-Api-Key'.*NUL"),
        ("X-Api-Key", f"{SECRET}\u2603", "'X-Api-Key'.*not Latin-1"),
    ],
)
def test_a_header_http_cannot_carry_is_refused_by_name_never_showing_its_value(
    name: str, value: str, match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as caught:
        client_for("http://127.0.0.1:1/v1", {name: value})
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert caught.value.__cause__ is None


async def test_create_llm_refuses_a_bad_header_or_base_url_at_once_and_the_runtime_lives() -> None:
    async with open_runtime(env={}) as rt:
        with pytest.raises(ConfigurationError, match=r"'X-Key'.*line break") as caught:
            rt.create_llm(
                "openai-compatible", "m", base_url="http://127.0.0.1:1/v1",
                headers={"X-Key": f"{SECRET}\r\n"},
            )  # fmt: skip
        assert SECRET not in str(caught.value)
        with pytest.raises(ConfigurationError, match="http:// or https://"):
            rt.create_llm("openai-compatible", "m", base_url="localhost:8080/v1")
        with pytest.raises(ConfigurationError, match="'Authorization'"):
            rt.create_llm("ollama", "m", api_key="sk-with-a-☃")
        assert [name for name in rt.actors.names() if name.startswith("llm:")] == []


def test_the_client_repr_never_shows_the_authorization_value() -> None:
    client = client_for("http://127.0.0.1:1/v1")
    assert SECRET not in repr(client)
    assert repr(client) == "<Http11Client http://127.0.0.1:1/v1 open=0>"


# -- the differential test --------------------------------------------------


def frame(body: bytes, framing: str, chunks: list[int], gzipped: bool, interim: bool) -> bytes:
    """A response carrying `body` in `framing`, optionally gzip-compressed, maybe
    after a 100 Continue."""
    payload = gzip.compress(body) if gzipped else body
    head = "HTTP/1.1 100 Continue\r\n\r\n" if interim else ""
    head += "HTTP/1.1 200 OK\r\n" + ("Content-Encoding: gzip\r\n" if gzipped else "")
    if framing == "length":
        return f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload
    if framing == "close":
        return f"{head}Connection: close\r\n\r\n".encode() + payload
    out = bytearray(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
    rest, sizes = payload, iter(chunks)
    while rest:
        size = next(sizes, len(rest))
        out += b"%x\r\n%s\r\n" % (len(rest[:size]), rest[:size])
        rest = rest[size:]
    return bytes(out + b"0\r\n\r\n")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=3000),
    framing=st.sampled_from(["length", "chunked", "close"]),
    chunks=st.lists(st.integers(min_value=1, max_value=700), max_size=8),
    gzipped=st.booleans(),
    interim=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
    streaming=st.booleans(),
)
def test_any_framing_and_split_reads_back_the_body_and_reuses_when_it_may(
    body: bytes,
    framing: str,
    chunks: list[int],
    gzipped: bool,
    interim: bool,
    cuts: list[int],
    streaming: bool,
) -> None:
    raw = frame(body, framing, chunks, gzipped, interim)
    reusable = framing != "close"

    async def answer(conn: RawConnection, request: bytes) -> bool:
        await conn.send_split(raw, cuts)
        return reusable

    async def run() -> None:
        async with open_raw_server(answer) as server:
            client = client_for(server.base_url)
            with trio.fail_after(10):
                assert await read_all(client, streaming=streaming) == body
                assert client.idle_connections == client.open_connections == int(reusable)
                assert await read_all(client, streaming=not streaming) == body
            assert server.total_connections == (1 if reusable else 2)
            await client.aclose()
            with trio.fail_after(10):
                await server.wait_for_connections(0)

    trio.run(run)
