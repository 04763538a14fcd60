"""A faulty or hostile upstream cannot exhaust memory, crash a provider actor or hold a call.

Real HTTP on 127.0.0.1: the fake servers act out each hostile answer (a gzip
bomb, a 100 MB body, 8 MB of headers, a line without end, JSON 100,000 deep,
a body dripped a byte at a time), generated as they are sent. Each must end
the call with LimitExceeded (an InvalidResponse) naming its limit, closed
connections, and — for the bomb and the 100 MB answer — a process whose
peak RSS grew by less than RSS_BOUND, for the openai-compatible adapter and
both SDK adapters, streamed and not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from abstractcore_actors import (
    LLM,
    InvalidResponse,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Runtime,
    ValidationError,
)
from abstractcore_actors._providers._limits import LimitExceeded, Limits
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server._config import (
    GatewayConfig,
    ModelRoute,
    check_config,
    config_from_mapping,
)
from abstractcore_actors.testing import (
    FakeServer,
    Fault,
    Reply,
    open_fake_anthropic_server,
    open_fake_openai_server,
)

from .conftest import API_KEY, FAST

MiB = 1024 * 1024
# What one hostile answer may add to the process's peak memory. The limits
# let at most max_body_bytes (16 MiB) of one answer in; the rest is the
# SDK's copy of it and the interpreter's slack.
RSS_BOUND = 64 * MiB


@pytest.fixture(params=["openai-compatible", "openai", "anthropic"])
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, FakeServer]]:
    provider: str = request.param
    opener = open_fake_anthropic_server if provider == "anthropic" else open_fake_openai_server
    async with opener() as server:
        yield provider, server


def llm_on(rt: Runtime, upstream: tuple[str, FakeServer], **options: Any) -> LLM:
    provider, server = upstream
    model = "claude-test" if provider == "anthropic" else "gpt-test"
    return rt.create_llm(
        provider, model, base_url=server.base_url, api_key=API_KEY, **{**FAST, **options}
    )


async def call(llm: LLM, *, stream: bool) -> None:
    if stream:
        async with llm.stream("Hi") as chunks:
            async for _ in chunks:
                pass
    else:
        await llm.generate("Hi")


def peak_rss_reset() -> int:
    """Reset the kernel's peak-RSS mark of this process; the RSS now, in bytes."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status("VmRSS")


def peak_rss() -> int:
    return _status("VmHWM")


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


async def fails_with(
    llm: LLM, server: FakeServer, *, stream: bool, kind: type[ProviderError] = LimitExceeded
) -> ProviderError:
    """The error of one call, once the server has seen every connection closed."""
    with trio.fail_after(60), pytest.raises(kind) as info:
        await call(llm, stream=stream)
    with trio.fail_after(10):
        await server.wait_for_connections(0)
    assert not isinstance(info.value.__cause__, RecursionError)
    return info.value


# -- memory: a gzip bomb, a 100 MB answer -------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_gzip_bomb_is_refused_while_it_inflates(
    rt: Runtime, upstream: tuple[str, FakeServer], stream: bool
) -> None:
    llm = llm_on(rt, upstream)
    server = upstream[1]
    server.push(Fault.gzip_bomb(1 << 30))  # ~1 MB of gzip, 1 GiB inflated
    before = peak_rss_reset()
    error = await fails_with(llm, server, stream=stream)
    growth = peak_rss() - before
    assert error.limit in ("max_decompression_ratio", "max_event_bytes", "max_body_bytes")
    assert error.limit in str(error)
    assert growth < RSS_BOUND, f"peak RSS grew {growth / MiB:.0f} MiB"
    assert len(server.requests) == 1  # not retried: the same upstream would send it again


async def test_a_100_mb_answer_stops_at_max_body_bytes(
    rt: Runtime, upstream: tuple[str, FakeServer]
) -> None:
    llm = llm_on(rt, upstream)
    server = upstream[1]
    server.push(Fault.huge_body(100 * MiB))
    before = peak_rss_reset()
    error = await fails_with(llm, server, stream=False)
    growth = peak_rss() - before
    assert error.limit == "max_body_bytes"
    assert "max_body_bytes=16777216" in str(error)
    assert growth < RSS_BOUND, f"peak RSS grew {growth / MiB:.0f} MiB"


async def test_max_body_bytes_is_a_per_model_option(
    rt: Runtime, upstream: tuple[str, FakeServer]
) -> None:
    server = upstream[1]
    server.push(Fault.huge_body(2 * MiB), Fault.huge_body(2 * MiB))
    with pytest.raises(LimitExceeded, match="max_body_bytes=1048576"):
        await call(llm_on(rt, upstream, max_body_bytes=MiB), stream=False)
    reply = await llm_on(rt, upstream, max_body_bytes=4 * MiB).generate("Hi")
    assert reply.content == "this partial answer is cut short by an injected fault"


async def test_a_100_mb_event_stops_at_max_event_bytes(
    rt: Runtime, upstream: tuple[str, FakeServer]
) -> None:
    llm = llm_on(rt, upstream)
    server = upstream[1]
    server.push(Fault.huge_body(100 * MiB, after_chunks=2))
    before = peak_rss_reset()
    error = await fails_with(llm, server, stream=True)
    assert error.limit == "max_event_bytes"
    assert peak_rss() - before < RSS_BOUND


async def test_a_line_without_end_stops_at_max_event_bytes(
    rt: Runtime, upstream: tuple[str, FakeServer]
) -> None:
    server = upstream[1]
    server.push(Fault.long_line(100 * MiB, after_chunks=1))
    error = await fails_with(llm_on(rt, upstream), server, stream=True)
    assert error.limit == "max_event_bytes"
    assert "max_event_bytes=1048576" in str(error)


# -- the response head ---------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_headers_over_max_header_bytes_are_refused(
    rt: Runtime, upstream: tuple[str, FakeServer], stream: bool
) -> None:
    server = upstream[1]
    # 80 KiB: over our 64 KiB, under the 100 KiB the SDKs' h11 allows
    server.push(Fault.huge_headers(80 * 1024))
    error = await fails_with(llm_on(rt, upstream), server, stream=stream)
    assert error.limit == "max_header_bytes"


async def test_8_mb_of_headers_are_refused(rt: Runtime, upstream: tuple[str, FakeServer]) -> None:
    provider, server = upstream
    server.push(Fault.huge_headers(8 * MiB))
    llm = llm_on(rt, upstream, max_retries=0)
    error = await fails_with(llm, server, stream=False, kind=InvalidResponse)
    if provider == "openai-compatible":
        assert isinstance(error, LimitExceeded)
    # (the SDKs' h11 refuses a head over 100 KiB itself: "cut short")
    assert error.retryable is (provider != "openai-compatible")


# -- JSON nested 100,000 deep ----------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "sse-data"])
async def test_deeply_nested_json_is_refused_before_it_is_parsed(
    rt: Runtime, upstream: tuple[str, FakeServer], stream: bool
) -> None:
    server = upstream[1]
    server.push(Fault.nested(100_000, after_chunks=2))
    error = await fails_with(llm_on(rt, upstream), server, stream=stream)
    assert error.limit == "max_json_depth"
    assert "max_json_depth=128" in str(error)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_deeply_nested_error_body_keeps_its_status(
    rt: Runtime, upstream: tuple[str, FakeServer], stream: bool
) -> None:
    # The status says what failed; a body too deep to read is shown as text.
    server = upstream[1]
    server.push(Fault.nested(100_000, status=503))
    llm = llm_on(rt, upstream, max_retries=0)
    with pytest.raises(ProviderUnavailable) as info:
        await call(llm, stream=stream)
    assert info.value.status_code == 503
    assert not isinstance(info.value, InvalidResponse)


async def test_a_shallower_depth_limit_is_a_per_model_option(
    rt: Runtime, upstream: tuple[str, FakeServer]
) -> None:
    # A chat answer nests 3-4 deep ({"choices": [{"message": {...}}]}).
    reply = await llm_on(rt, upstream).generate("Hi")
    assert reply.content == "echo: Hi"
    with pytest.raises(LimitExceeded, match="max_json_depth=2"):
        await llm_on(rt, upstream, max_json_depth=2).generate("Hi")


@pytest.mark.parametrize("provider", ["openai-compatible", "openai"])
async def test_a_deeply_nested_embeddings_answer_is_refused(rt: Runtime, provider: str) -> None:
    async with open_fake_openai_server() as server:
        server.push_embedding(Fault.nested(100_000))
        llm = llm_on(rt, (provider, server))
        with pytest.raises(LimitExceeded, match="max_json_depth"):
            await llm.embed(["a", "b"])


async def test_ten_good_streams_finish_beside_a_nested_answer(
    rt: Runtime, upstream: tuple[str, FakeServer]
) -> None:
    server = upstream[1]
    llm = llm_on(rt, upstream)
    server.push(Fault.nested(100_000, after_chunks=1))
    outcomes: list[str] = []

    async def one() -> None:
        try:
            async with llm.stream("Hi") as chunks:
                outcomes.append("".join([chunk.text async for chunk in chunks]))
        except LimitExceeded:
            outcomes.append("refused")

    async with trio.open_nursery() as nursery:
        for _ in range(11):
            nursery.start_soon(one)
    assert sorted(outcomes) == ["echo: Hi"] * 10 + ["refused"]


# -- a body dripped a byte at a time ------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"body_timeout": 2}], ids=["read_timeout", "body_timeout"])
async def test_a_dripping_body_ends_the_call_in_its_body_timeout(
    rt: Runtime,
    upstream: tuple[str, FakeServer],
    options: dict[str, float],
    autojump_clock: trio.testing.MockClock,
) -> None:
    server = upstream[1]
    server.push(Fault.drip(1.0))  # ~400 bytes: 400 s at one a second
    llm = llm_on(rt, upstream, read_timeout=5, max_retries=0, **options)
    start = trio.current_time()
    with pytest.raises(ProviderTimeout, match="body_timeout"):
        await llm.generate("Hi")
    took = trio.current_time() - start
    expected = options.get("body_timeout", 5)
    assert expected <= took < expected + 1.5


async def test_a_dripping_stream_is_no_fault(
    rt: Runtime, upstream: tuple[str, FakeServer], autojump_clock: trio.testing.MockClock
) -> None:
    # A stream has no total: each byte arriving within the stall limit is progress.
    server = upstream[1]
    server.push(Fault.drip(0.001, reply=Reply(text="slow but sure")))
    chunks = []
    async with llm_on(rt, upstream, read_timeout=5).stream("Hi") as stream:
        chunks = [chunk.text async for chunk in stream]
    assert "".join(chunks) == "slow but sure"


# -- the options -------------------------------------------------------------------


async def test_limit_options_are_checked_at_create_llm(rt: Runtime) -> None:
    url = "http://127.0.0.1:9/v1"
    for bad in ({"max_body_bytes": 0}, {"max_json_depth": 1.5}, {"body_timeout": -1}):
        with pytest.raises(ValidationError, match=next(iter(bad))):
            rt.create_llm("openai-compatible", "m", base_url=url, **bad)
    with pytest.raises(ValidationError, match="does not take option"):
        rt.create_llm("local", max_body_bytes=MiB)
    llm = rt.create_llm("openai-compatible", "m", base_url=url, max_event_bytes=2 * MiB)
    assert llm is not None


async def test_the_gateway_passes_a_models_limits_to_it(rt: Runtime) -> None:
    def check(route: ModelRoute) -> None:
        rt.check_llm(route.provider, route.model, **route.options)

    def gateway(**options: object) -> GatewayConfig:
        spec = {"provider": "openai-compatible", "model": "gpt-test", "options": options}
        return config_from_mapping({"models": {"m": spec}})

    with pytest.raises(ConfigurationError, match=r"\[models.m\].*max_json_depth"):
        check_config(gateway(base_url="http://127.0.0.1:9/v1", max_json_depth=0), check)
    async with open_fake_openai_server() as server:
        config = gateway(base_url=server.base_url, max_body_bytes=4096, max_retries=0)
        check_config(config, check)
        route = config.models["m"]
        llm = rt.create_llm(route.provider, route.model, **route.options)
        server.push(Fault.huge_body(8192))
        with pytest.raises(LimitExceeded, match="max_body_bytes=4096"):
            await llm.generate("Hi")


def test_the_defaults() -> None:
    limits = Limits()
    assert limits.max_body_bytes == 16 * MiB
    assert limits.max_header_bytes == 64 * 1024
    assert limits.max_event_bytes == MiB
    assert limits.max_json_depth == 128
    assert limits.max_decompression_ratio == 100
    assert limits.body_seconds(60) == 60
    assert Limits(body_timeout=5).body_seconds(60) == 5
