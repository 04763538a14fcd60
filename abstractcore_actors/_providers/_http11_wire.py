"""The bytes of HTTP/1.1 for the lean client (`_http11.py`): the origin and the
request head it sends (validated once, at construction), and the response
parser's callbacks. Bodies are decoded by `_inflate.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import httptools

from ..errors import ConfigurationError
from ._inflate import ACCEPT_ENCODING

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field names


class Origin:
    """scheme://host:port of a base URL, and the path prefix under it."""

    __slots__ = ("authority", "host", "port", "prefix", "scheme")

    def __init__(self, base_url: str) -> None:
        # (the URL is never shown whole: its user:password part may be a secret)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"base_url must be an http:// or https:// URL with a host, such as "
                f"http://localhost:8080/v1 (got scheme {parts.scheme!r}, "
                f"host {parts.hostname or ''!r})"
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        default = 443 if parts.scheme == "https" else 80
        try:
            self.port = parts.port or default
        except ValueError:
            raise ConfigurationError(
                f"the port of base_url (host {parts.hostname!r}) is not a number in 1-65535"
            ) from None
        self.prefix = parts.path.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = host if self.port == default else f"{host}:{self.port}"

    def __repr__(self) -> str:
        return f"{self.scheme}://{self.authority}{self.prefix}"


class Parse:
    """httptools' callbacks for one response: its head, its body pieces, its end."""

    __slots__ = (
        "complete",
        "delimited",
        "head_done",
        "headers",
        "interim",
        "keep_alive",
        "parser",
        "pieces",
        "status",
    )

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.headers: dict[str, str] = {}
        self.pieces: list[bytes] = []
        self.head_done = False
        self.interim = False
        self.status = 0
        self.complete = False
        self.keep_alive = False
        # Whether the body's end is marked (Content-Length or chunked); if
        # not, the body runs until the server closes the connection.
        self.delimited = False

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers = self.headers
        headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            # 100 Continue, 103 Early Hints: llhttp goes on to the answer that
            # follows, in this same feed or a later one; its headers are not
            # the answer's.
            self.interim = True
            self.headers = {}
            return
        self.status = status
        self.head_done = True
        self.delimited = "content-length" in self.headers or "chunked" in self.headers.get(
            "transfer-encoding", ""
        )

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)

    def on_message_complete(self) -> None:
        if self.interim:  # the end of a 1xx head, not of the answer
            self.interim = False
            return
        self.complete = True
        # asked now: once past the message, llhttp answers False
        self.keep_alive = self.parser.should_keep_alive()


def request_head(origin: Origin, headers: Mapping[str, str]) -> bytes:
    """The header lines every request to `origin` carries; ConfigurationError
    (naming the header, never showing its value) for one HTTP cannot send."""
    names = {name.lower() for name in headers}
    fixed = [("Host", origin.authority)]
    if "accept-encoding" not in names:
        fixed.append(("Accept-Encoding", ACCEPT_ENCODING))
    if "user-agent" not in names:
        fixed.append(("User-Agent", "abstractcore-actors"))
    fixed += [*headers.items(), ("Content-Type", "application/json")]
    return b"".join(_header_line(name, value) for name, value in fixed)


def _header_line(name: str, value: str) -> bytes:
    if not _TOKEN.fullmatch(name):
        raise ConfigurationError(f"{name!r} is not a valid HTTP header name")
    # (the value is never shown: it may be a key)
    if any(c in value for c in "\r\n\0"):
        raise ConfigurationError(f"the value of header {name!r} contains a line break or NUL")
    try:
        return f"{name}: {value.strip()}\r\n".encode("latin-1")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"the value of header {name!r} is not Latin-1 text (HTTP/1.1 sends bytes)"
        ) from None
