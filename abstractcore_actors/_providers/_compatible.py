"""Adapter for any OpenAI-compatible server, over a lean HTTP/1.1 client.

Ollama, LM Studio, vLLM, llama.cpp's server, OpenRouter and friends speak
the chat-completions protocol with small differences (missing optional
fields, no usage, `[DONE]` or not). This adapter reads the documented
protocol tolerantly and maps every transport failure to our errors. One
HTTP client per provider actor: `_http11.Http11Client` (pooled connections,
O(1) per call, a fraction of httpx's CPU per call) or httpx
(`_http_proxy.py`), as the `http_client` option says: "lean", "httpx", or
"auto" (the default: httpx when the environment sets a proxy for base_url).

Every answer is read within the model's `Limits` (`_limits.py`): the
clients bound the head, the whole body and its decompression; this adapter
bounds each SSE line and the JSON depth of everything it parses. An answer
past a limit is LimitExceeded, and its connection is closed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import trio

from .. import _json_depth
from .._wire import openai_chat as wire
from .._wire import openai_chat_stream as wire_stream
from .._wire import openai_embeddings as _embed_wire
from ..errors import InvalidResponse, ProviderError, ProviderUnavailable
from ..types import Chunk, EmbeddingRequest, EmbeddingResponse, GenerateResponse, Request
from ._accumulate import Accumulator
from ._adapter import ACCEPTED, Accepted, ProviderConfig
from ._http11 import Http11Client
from ._http11_wire import Origin, request_head
from ._http_proxy import ProxiedClient, proxied
from ._limits import LimitExceeded, describe
from ._sse import LineSplitter
from ._status import error_from_status, provider_error, transport_error
from ._transport import HttpClient, HttpResponse, TransportError


def _encode(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _headers(config: ProviderConfig) -> dict[str, str]:
    headers = {"Accept": "application/json", **config.headers}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    return headers


def check_config(config: ProviderConfig) -> None:
    """Raise ConfigurationError now, at create_llm, for a base_url or header that
    no request could carry; raised later, in the provider actor's start, it
    would crash the actor at every restart."""
    request_head(Origin(config.base_url or ""), _headers(config))


class CompatibleAdapter:
    """POST {base_url}/chat/completions with JSON or SSE."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        base_url = (config.base_url or "").rstrip("/")
        self._url = f"{base_url}/chat/completions"
        headers = _headers(config)
        # As many idle connections kept as calls may run at once, so a burst
        # reuses every socket of the one before.
        choice = config.options.get("http_client", "auto")
        use_httpx = choice == "httpx" or (choice == "auto" and proxied(self._url))
        make = ProxiedClient if use_httpx else Http11Client
        self._client: HttpClient = make(
            base_url,
            headers,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_keepalive=config.max_concurrent,
            limits=config.limits,
        )

    def __repr__(self) -> str:
        return f"<CompatibleAdapter {self.config.provider}/{self.config.model} {self._url}>"

    async def aclose(self) -> None:
        await self._client.aclose()

    def _fail(self, kind: type[ProviderError], detail: str) -> ProviderError:
        return provider_error(kind, detail, self.config)

    def _transport_error(self, exc: TransportError) -> ProviderError:
        return transport_error(exc, self.config, self._url)

    def _loads(self, data: bytes, what: str) -> Any:
        """Upstream JSON, depth-checked (LimitExceeded); ValueError if not JSON."""
        depth = self.config.limits.max_json_depth
        try:
            return _json_depth.loads(data, depth)
        except _json_depth.TooDeep:
            raise LimitExceeded(
                describe("max_json_depth", depth, f"{what} nests deeper"),
                provider=self.config.provider,
                model=self.config.model,
                limit="max_json_depth",
            ) from None

    async def _raise_for_status(self, response: HttpResponse) -> None:
        if response.status < 400:
            return
        body_bytes = await response.read()
        try:
            # The status says what failed: an error body that cannot be read
            # as JSON (malformed, or nested past the limit) is shown as text.
            body: object = _json_depth.loads(body_bytes, self.config.limits.max_json_depth)
        except ValueError:
            body = body_bytes.decode("utf-8", "replace")
        raise error_from_status(
            response.status,
            wire.error_message(body),
            self.config,
            code=wire.error_code(body),
            headers=response.headers,
        )

    async def _post_json(self, path: str, body: object) -> object:
        """POST and read a whole JSON answer (errors mapped; ValueError if not JSON)."""
        try:
            response = await self._client.post(path, _encode(body), whole=True)
        except TransportError as exc:
            raise self._transport_error(exc) from exc
        try:
            await self._raise_for_status(response)
            return self._loads(await response.read(), "the answer's JSON")
        except LimitExceeded:
            await response.abort()  # this server's connection is not asked again
            raise
        except TransportError as exc:
            raise self._transport_error(exc) from exc
        finally:
            await response.aclose()

    async def generate(self, request: Request) -> GenerateResponse:
        if self.config.options.get("stream_upstream") and _one_answer(request):
            return await self._generate_by_stream(request)
        body = wire.request_body(request, self.config.model, stream=False)
        try:
            data: Any = await self._post_json("/chat/completions", body)
            return wire.response_from_wire(data)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise self._fail(
                InvalidResponse, f"the answer is not a chat.completion object ({exc!r})"
            ) from exc

    async def _generate_by_stream(self, request: Request) -> GenerateResponse:
        """A whole answer, asked for as a stream and assembled. Cancelling the
        call closes the stream, so the server stops generating: llama.cpp,
        for one, computes a non-streamed answer to its end after the client
        has gone, holding its slot (see docs/providers.md for the cost)."""
        answer = Accumulator()
        async for item in self.stream(request):
            if isinstance(item, Chunk):
                answer.add(item)
        return answer.response(model=self.config.model)

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """POST {base_url}/embeddings, asking for base64 vectors (option
        `embedding_format="float"` for servers that only send floats; either
        kind of answer is read)."""
        encoding = str(self.config.options.get("embedding_format", "base64"))
        body = _embed_wire.request_body(request, self.config.model, encoding)
        try:
            data: Any = await self._post_json("/embeddings", body)
            return _embed_wire.response_from_wire(data, len(request))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._fail(
                InvalidResponse, f"the answer is not an embeddings list object ({exc!r})"
            ) from exc

    async def stream(self, request: Request) -> AsyncIterator[Chunk | Accepted]:
        body = wire.request_body(request, self.config.model, stream=True)
        try:
            response = await self._client.post("/chat/completions", _encode(body))
        except TransportError as exc:
            raise self._transport_error(exc) from exc
        try:
            await self._raise_for_status(response)
            yield ACCEPTED
            final = wire_stream.FinalChunk(wire.estimate_prompt_tokens(request))
            splitter = LineSplitter(self.config.limits.max_event_bytes)
            ended = done = False
            while not (ended or done):
                try:
                    part = await response.receive_some()
                except TransportError as exc:
                    raise self._transport_error(exc) from exc
                try:
                    if part:
                        lines = splitter.feed(part)
                    else:
                        lines, ended = splitter.flush(), True
                except TransportError as exc:
                    raise self._transport_error(exc) from exc
                # Every line of this read is parsed before the next await.
                for line in lines:
                    chunk, done = self._parse_line(line)
                    if done:
                        break
                    if chunk is not None:
                        for ready in final.feed(chunk):
                            yield ready
            if not final.finished:
                # Servers may omit [DONE], but a stream without any
                # finish_reason was cut short.
                raise self._fail(InvalidResponse, wire.CUT_SHORT)
            for ready in final.flush():
                yield ready
            if done:
                await _drain(response)
        except LimitExceeded:
            await response.abort()  # this server's connection is not asked again
            raise
        finally:
            await response.aclose()

    def _parse_line(self, line: bytes) -> tuple[Chunk | None, bool]:
        """One SSE line -> (chunk or None, end of stream?)."""
        if not line.startswith(b"data:"):
            return None, False  # comments (": keep-alive"), event:, id:, blank lines
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return None, True
        try:
            data: Any = self._loads(payload, "an SSE data line's JSON")
            if isinstance(data, dict) and "error" in data:
                raise self._fail(
                    ProviderUnavailable, f"error event mid-stream: {wire.error_message(data)}"
                )
            return wire_stream.chunk_from_wire(data), False
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            shown = payload[:80].decode("utf-8", "replace")
            raise self._fail(InvalidResponse, f"malformed SSE data line {shown!r} ({exc})") from exc


def _one_answer(request: Request) -> bool:
    """Whether a stream carries all the whole answer would: not with n > 1
    choices or logprobs, which only the whole `chat.completion` shape holds."""
    extra = request.extra
    return extra.get("n", 1) == 1 and not extra.get("logprobs")


# How long the end of a body may lag behind its `[DONE]` line.
_DRAIN_GRACE = 1.0


async def _drain(response: HttpResponse) -> None:
    """Read what follows `[DONE]`: a server ends the body right after it, and a
    body read to its end lets its connection serve the next call (no new TCP
    and TLS handshake). A server that does not is left, closed by `aclose`."""
    with trio.move_on_after(_DRAIN_GRACE):
        try:
            while await response.receive_some():
                pass
        except TransportError:
            pass  # the connection is closed instead of reused: nothing lost
