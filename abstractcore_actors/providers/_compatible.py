"""Adapter for any OpenAI-compatible server, over httpx directly.

Ollama, LM Studio, vLLM, llama.cpp's server, OpenRouter and friends speak
the chat-completions protocol with small differences (missing optional
fields, no usage, `[DONE]` or not). This adapter reads the documented
protocol tolerantly and maps every transport failure to our errors. One
`httpx.AsyncClient` per provider actor, on `StackPool`: connections are
pooled and reused at O(1) cost per call.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ..errors import InvalidResponse, ProviderError, ProviderTimeout, ProviderUnavailable
from ..types import Chunk, EmbeddingRequest, EmbeddingResponse, GenerateResponse, Request
from . import _embed_wire
from . import _openai_wire as wire
from ._adapter import ProviderConfig
from ._pool import StackPool
from ._sse import LineSplitter
from ._status import error_from_status, provider_error


def _proxied(url: str) -> bool:
    """Whether the environment routes `url` through a proxy (as httpx would read it)."""
    proxies = urllib.request.getproxies()
    scheme = httpx.URL(url).scheme
    if not (proxies.get(scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(httpx.URL(url).host)


class CompatibleAdapter:
    """POST {base_url}/chat/completions with JSON or SSE."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        headers = {"Accept": "application/json", **config.headers}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        self._url = f"{(config.base_url or '').rstrip('/')}/chat/completions"
        # One client, on our O(1) pool (httpcore's own rescans its connections
        # on every request: quadratic at hundreds of calls in flight). It
        # keeps as many idle connections as calls may run at once, so a
        # burst reuses every socket of the one before. A configured proxy
        # (HTTP(S)_PROXY / ALL_PROXY) needs httpx's own transport.
        transport = None if _proxied(self._url) else StackPool(max_keepalive=config.max_concurrent)
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
            limits=httpx.Limits(max_keepalive_connections=32, max_connections=None),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"<CompatibleAdapter {self.config.provider}/{self.config.model} {self._url}>"

    async def aclose(self) -> None:
        await self._client.aclose()

    def _fail(self, kind: type[ProviderError], detail: str) -> ProviderError:
        return provider_error(kind, detail, self.config)

    def _transport_error(self, exc: httpx.TransportError) -> ProviderError:
        if isinstance(exc, httpx.TimeoutException):
            return self._fail(ProviderTimeout, f"{type(exc).__name__} from {self._url}")
        if isinstance(exc, httpx.RemoteProtocolError):
            return self._fail(InvalidResponse, f"the response was cut short ({exc})")
        return self._fail(
            ProviderUnavailable, f"cannot reach {self._url} ({type(exc).__name__}: {exc})"
        )

    async def _raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        body_bytes = await response.aread()
        try:
            body: object = json.loads(body_bytes)
        except ValueError:
            body = body_bytes.decode("utf-8", "replace")
        raise error_from_status(
            response.status_code,
            wire.error_message(body),
            self.config,
            code=wire.error_code(body),
            headers=response.headers,
        )

    async def generate(self, request: Request) -> GenerateResponse:
        body = wire.request_body(request, self.config.model, stream=False)
        try:
            response = await self._client.post(self._url, json=body)
            await self._raise_for_status(response)
            data = response.json()
            return wire.response_from_wire(data)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise self._fail(
                InvalidResponse, f"the answer is not a chat.completion object ({exc!r})"
            ) from exc

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """POST {base_url}/embeddings, asking for base64 vectors (option
        `embedding_format="float"` for servers that only send floats; either
        kind of answer is read)."""
        encoding = str(self.config.options.get("embedding_format", "base64"))
        body = _embed_wire.request_body(request, self.config.model, encoding)
        url = f"{self._url.removesuffix('/chat/completions')}/embeddings"
        try:
            response = await self._client.post(url, json=body)
            await self._raise_for_status(response)
            return _embed_wire.response_from_wire(response.json(), len(request.texts))
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self._fail(
                InvalidResponse, f"the answer is not an embeddings list object ({exc!r})"
            ) from exc

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        body = wire.request_body(request, self.config.model, stream=True)
        client = self._client
        http_request = client.build_request("POST", self._url, json=body)
        try:
            response = await client.send(http_request, stream=True)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc
        parts: AsyncIterator[bytes] | None = None
        try:
            await self._raise_for_status(response)
            final = wire.FinalChunk(wire.estimate_prompt_tokens(request))
            parts = _body_parts(response)
            splitter = LineSplitter()
            ended = done = False
            while not (ended or done):
                try:
                    part = await parts.__anext__()
                except StopAsyncIteration:
                    lines, ended = splitter.flush(), True
                except httpx.TransportError as exc:
                    raise self._transport_error(exc) from exc
                else:
                    lines = splitter.feed(part)
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
        finally:
            if parts is not None:
                # closed here, not left to the garbage collector's finalizer
                await parts.aclose()  # type: ignore[attr-defined]
            await response.aclose()

    def _parse_line(self, line: bytes) -> tuple[Chunk | None, bool]:
        """One SSE line -> (chunk or None, end of stream?)."""
        if not line.startswith(b"data:"):
            return None, False  # comments (": keep-alive"), event:, id:, blank lines
        payload = line[5:].strip()
        if payload == b"[DONE]":
            return None, True
        try:
            data: Any = json.loads(payload)
            if isinstance(data, dict) and "error" in data:
                raise self._fail(
                    ProviderUnavailable, f"error event mid-stream: {wire.error_message(data)}"
                )
            return wire.chunk_from_wire(data), False
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            shown = payload[:80].decode("utf-8", "replace")
            raise self._fail(InvalidResponse, f"malformed SSE data line {shown!r} ({exc})") from exc


def _body_parts(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive. Without a content-encoding, straight
    from the transport's stream (httpx's own `aiter_raw` adds a generator and
    two context managers per read); otherwise decoded by httpx."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity") and isinstance(response.stream, httpx.AsyncByteStream):
        return response.stream.__aiter__()
    return response.aiter_bytes()
