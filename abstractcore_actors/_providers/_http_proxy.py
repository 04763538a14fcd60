"""The `openai-compatible` adapter's transport when the environment sets a proxy.

`HTTP(S)_PROXY` / `ALL_PROXY` (and `NO_PROXY`) are read as httpx reads them,
and httpx carries the call, behind the same small interface as the lean
client (`post` → a response with `status`, `headers`, `receive_some`, `read`,
`aclose`) and raising only the errors of `_transport.py`. The model's
`Limits` are kept by the same response guard as the SDKs' (`_httpx_guard.py`),
but for server-sent events, which the adapter bounds line by line itself.
"""

from __future__ import annotations

import math
import urllib.request
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager

import httpx

from ._httpx_guard import ResponseGuard
from ._limits import Limits
from ._transport import TransportCutShort, TransportTimeout, TransportUnavailable


def proxied(url: str) -> bool:
    """Whether the environment routes `url` through a proxy (as httpx would read it)."""
    proxies = urllib.request.getproxies()
    parsed = httpx.URL(url)
    if not (proxies.get(parsed.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parsed.host)


@contextmanager
def _mapped(url: str) -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransportTimeout(f"{type(exc).__name__} from {url}") from exc
    except httpx.RemoteProtocolError as exc:
        raise TransportCutShort(f"the response was cut short ({exc})") from exc
    except httpx.TransportError as exc:
        raise TransportUnavailable(f"cannot reach {url} ({type(exc).__name__}: {exc})") from exc


class ProxiedClient:
    """POST JSON bodies to paths under one base URL, through httpx and its proxy support."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
        max_keepalive: int,
        limits: Limits | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        guard = ResponseGuard(limits or Limits(), read_timeout or math.inf, events=False)
        options = guard.client_options()
        self._client = httpx.AsyncClient(
            headers={**options.pop("headers"), **headers},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_keepalive_connections=max_keepalive, max_connections=None),
            **options,
        )

    def __repr__(self) -> str:  # never the headers: they carry the API key
        return f"<ProxiedClient {self._base_url}>"

    async def post(self, path: str, body: bytes, *, whole: bool = False) -> ProxiedResponse:
        url = self._base_url + path
        request = self._client.build_request(
            "POST", url, content=body, headers={"Content-Type": "application/json"}
        )
        with _mapped(url):
            response = await self._client.send(request, stream=not whole)
        return ProxiedResponse(response, url)

    async def aclose(self) -> None:
        await self._client.aclose()


class ProxiedResponse:
    def __init__(self, response: httpx.Response, url: str) -> None:
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self._response = response
        self._url = url
        self._parts: AsyncIterator[bytes] = response.aiter_bytes()

    async def receive_some(self) -> bytes:
        with _mapped(self._url):
            try:
                while not (data := await self._parts.__anext__()):
                    pass
                return data
            except StopAsyncIteration:
                await self.aclose()
                return b""

    async def read(self) -> bytes:
        try:
            with _mapped(self._url):
                return await self._response.aread()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        await self._parts.aclose()  # type: ignore[attr-defined]
        await self._response.aclose()

    async def abort(self) -> None:
        # httpx closes a connection whose response was not read to its end;
        # one read whole is back in its pool already, its framing intact.
        await self.aclose()
