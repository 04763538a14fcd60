"""The web console: one static page (`/`) with its script and style, no build step.

The files live in `console/` next to this module (package data, shipped in
the wheel). A strict Content-Security-Policy allows only our own script,
style and connections (fetch to /v1, the /v1/events WebSocket): no inline
script, no third-party code, no framing.
"""

from __future__ import annotations

from importlib.resources import files

from ._errors import HTTPError
from ._http import Send

FILES = {
    "/": ("index.html", b"text/html; charset=utf-8"),
    "/console.js": ("console.js", b"text/javascript; charset=utf-8"),
    "/console.css": ("console.css", b"text/css; charset=utf-8"),
}

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def is_console(path: str) -> bool:
    return path in FILES


async def send_console(send: Send, path: str, method: str) -> None:
    """Answer GET/HEAD for one of the console's files (HTTPError 405 for other methods)."""
    if method not in ("GET", "HEAD"):
        raise HTTPError(
            405,
            f"method {method} is not allowed here (use GET or HEAD)",
            code="method_not_allowed",
            headers=[(b"allow", b"GET, HEAD")],
        )
    name, content_type = FILES[path]
    data = files(__package__).joinpath("console", name).read_bytes()
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(data)).encode()),
        (b"content-security-policy", CSP.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-cache"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    body = b"" if method == "HEAD" else data
    await send({"type": "http.response.body", "body": body, "more_body": False})
