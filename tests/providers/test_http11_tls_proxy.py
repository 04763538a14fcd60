"""The openai-compatible client over https (a trustme CA, trio.SSLStream on both
sides) and behind a proxy from the environment (httpx, through a tiny
forwarding proxy written here)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing
import trustme

from abstractcore_actors import open_runtime
from abstractcore_actors._providers._adapter import ProviderConfig
from abstractcore_actors._providers._compatible import CompatibleAdapter
from abstractcore_actors._providers._http11 import Http11Client
from abstractcore_actors._providers._http_proxy import ProxiedClient
from abstractcore_actors._providers._limits import LimitExceeded
from abstractcore_actors._providers._transport import TransportUnavailable
from abstractcore_actors.testing import FakeOpenAIServer, Fault, Reply, open_fake_openai_server
from tests.providers.raw_http import RawConnection, RawServer, open_raw_server, response

BODY = b'{"model":"m","messages":[]}'


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def echo_path(conn: RawConnection, request: bytes) -> bool:
    target = request.split(b" ", 2)[1]
    await conn.send(response(b'{"path":"%s"}' % target))
    return True


def https_client(port: int, context: ssl.SSLContext | None) -> Http11Client:
    return Http11Client(
        f"https://127.0.0.1:{port}/v1",
        {"Authorization": "Bearer sk-test"},
        connect_timeout=5,
        read_timeout=5,
        max_keepalive=4,
        ssl_context=context,
    )


async def test_a_post_round_trip_over_tls_reuses_its_connection(ca: trustme.CA) -> None:
    async with open_raw_server(echo_path, ssl_context=server_context(ca, "127.0.0.1")) as server:
        client = https_client(server.port, client_context(ca))
        for _ in range(3):
            answer = await client.post("/chat/completions", BODY)
            assert answer.status == 200
            assert await answer.read() == b'{"path":"/v1/chat/completions"}'
        assert server.total_connections == 1  # one handshake, three calls
        assert b"\r\nHost: 127.0.0.1:%d\r\n" % server.port in server.requests[0]
        await client.aclose()
        with trio.fail_after(5):
            await server.wait_for_connections(0)


@pytest.mark.parametrize("trusted", [True, False], ids=["wrong-hostname", "unknown-ca"])
async def test_a_certificate_that_does_not_verify_is_transport_unavailable_naming_why(
    ca: trustme.CA, trusted: bool
) -> None:
    # trusted: our CA, but a certificate for another name; else the default
    # trust store (certifi, as httpx), which does not know our CA
    context = server_context(ca, "other.example")
    async with open_raw_server(echo_path, ssl_context=context) as server:
        client = https_client(server.port, client_context(ca) if trusted else None)
        why = "IP address mismatch" if trusted else "unable to get local issuer certificate"
        with pytest.raises(TransportUnavailable, match=f"SSLCertVerificationError.*{why}"):
            await client.post("/chat/completions", BODY)
        assert client.open_connections == 0
        with trio.fail_after(5):
            await server.wait_for_connections(0)
        assert server.requests == []  # not one byte of the request left
        await client.aclose()


# -- the proxy fallback -----------------------------------------------------


def forwarding_to(upstream: FakeOpenAIServer) -> object:
    """A proxy's answer: take an absolute-form request, send it on to `upstream`
    in origin form (one connection per request), relay the response as it comes."""

    async def answer(conn: RawConnection, request: bytes) -> bool:
        head, _, body = request.partition(b"\r\n\r\n")
        method, target, version = head.split(b"\r\n", 1)[0].split(b" ")
        prefix = upstream.origin.encode()
        assert target.startswith(prefix), target  # absolute form, to the upstream
        fields = [
            line
            for line in head.split(b"\r\n")[1:]
            if not line.lower().startswith((b"connection:", b"proxy-"))
        ]
        forwarded = b"\r\n".join(
            [b" ".join([method, target[len(prefix) :], version]), *fields, b"Connection: close"]
        )
        async with await trio.open_tcp_stream("127.0.0.1", upstream.port) as out:
            await out.send_all(forwarded + b"\r\n\r\n" + body)
            while data := await out.receive_some(65536):
                await conn.send(data)
        return False  # the response ran to the upstream's close: so does this one

    return answer


@pytest.fixture
async def proxy_and_upstream(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[RawServer, FakeOpenAIServer]]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    reply = Reply(text="via proxy", chunks=["via", " proxy"])
    async with (
        open_fake_openai_server(default=reply) as upstream,
        open_raw_server(forwarding_to(upstream)) as proxy,  # type: ignore[arg-type]
    ):
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        yield proxy, upstream


def config(upstream: FakeOpenAIServer) -> ProviderConfig:
    return ProviderConfig(
        provider="openai-compatible", model="m", base_url=upstream.base_url, api_key="sk-test"
    )


async def test_http_proxy_routes_generate_and_stream_through_httpx(
    proxy_and_upstream: tuple[RawServer, FakeOpenAIServer],
) -> None:
    proxy, upstream = proxy_and_upstream
    adapter = CompatibleAdapter(config(upstream))
    assert isinstance(adapter._client, ProxiedClient)
    await adapter.aclose()
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url, api_key="k")
        assert (await llm.generate("Hi")).content == "via proxy"
        async with llm.stream("Hi") as stream:
            assert [chunk.text async for chunk in stream if chunk.text] == ["via", " proxy"]
    target = f"POST {upstream.base_url}/chat/completions HTTP/1.1\r\n".encode()
    assert [request.startswith(target) for request in proxy.requests] == [True, True]
    assert [request.headers["authorization"] for request in upstream.requests] == ["Bearer k"] * 2
    with trio.fail_after(5):
        await proxy.wait_for_connections(0)
        await upstream.wait_for_connections(0)


async def test_no_proxy_for_the_host_picks_the_lean_client(
    proxy_and_upstream: tuple[RawServer, FakeOpenAIServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, upstream = proxy_and_upstream
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    adapter = CompatibleAdapter(config(upstream))
    assert isinstance(adapter._client, Http11Client)
    await adapter.aclose()
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url)
        assert (await llm.generate("Hi")).content == "via proxy"
    assert proxy.requests == []
    assert len(upstream.requests) == 1


@pytest.mark.parametrize(
    ("fault", "stream", "limit"),
    [
        (Fault.gzip_bomb(1 << 30), False, "max_decompression_ratio"),
        (Fault.huge_body(100 << 20), False, "max_body_bytes"),
        (Fault.nested(100_000), False, "max_json_depth"),
        (Fault.long_line(100 << 20, after_chunks=1), True, "max_event_bytes"),
        (Fault.nested(100_000, after_chunks=1), True, "max_json_depth"),
    ],
    ids=["gzip-bomb", "huge-body", "nested", "long-line", "nested-sse"],
)
async def test_behind_a_proxy_the_limits_hold_too(
    proxy_and_upstream: tuple[RawServer, FakeOpenAIServer],
    fault: Fault,
    stream: bool,
    limit: str,
) -> None:
    proxy, upstream = proxy_and_upstream
    upstream.push(fault)
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("openai-compatible", "m", base_url=upstream.base_url, api_key="k")
        with trio.fail_after(30), pytest.raises(LimitExceeded) as info:
            if stream:
                async with llm.stream("Hi") as chunks:
                    async for _ in chunks:
                        pass
            else:
                await llm.generate("Hi")
    assert info.value.limit == limit
    with trio.fail_after(10):
        await proxy.wait_for_connections(0)
        await upstream.wait_for_connections(0)
