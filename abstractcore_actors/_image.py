"""`Image`: an image in a user's message, as every wire format can carry it.

One form for all: a URL, either http(s) (the provider fetches it) or a
`data:` URL with the bytes in base64 (OpenAI's `image_url` takes both;
Anthropic's `image` block takes either as its `url` or `base64` source;
Responses' `input_image` takes both). Which models read images is the
provider's business: a text-only model answers with its own error, and the
local model refuses them before it starts.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from .errors import ValidationError

Detail = Literal["auto", "low", "high"]
_DETAILS = ("auto", "low", "high")
_DATA_URL = re.compile(r"data:(image/[A-Za-z0-9.+-]+);base64,(.*)", re.S)
_SHOWN = 48  # characters of a URL a repr shows: a data URL can be megabytes


def _check_url(instance: Image, attribute: attrs.Attribute[str], url: str) -> None:
    if not isinstance(url, str):
        raise ValidationError(f"an image's url must be a string; got {type(url).__name__}")
    if url.startswith(("https://", "http://")):
        return
    found = _DATA_URL.fullmatch(url)
    if found is None:
        raise ValidationError(
            f"an image's url must be http(s):// or data:image/<type>;base64,<data>; got "
            f"{_short(url)!r} (Image.from_bytes(data, media_type) builds a data URL)"
        )
    try:
        base64.b64decode(found.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            f"the image's data URL does not hold valid base64 ({_short(url)!r})"
        ) from None


def _check_detail(instance: Image, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None and value not in _DETAILS:
        raise ValidationError(f"an image's detail must be one of {_DETAILS} or None; got {value!r}")


def _short(url: str) -> str:
    return url if len(url) <= _SHOWN else f"{url[:_SHOWN]}...({len(url)} chars)"


@attrs.frozen(slots=True)
class Image:
    """An image: `Image("https://...")`, `Image.from_bytes(png, "image/png")`.

    `detail` is OpenAI's resolution hint ("low", "high", "auto"); providers
    without one ignore it."""

    url: str = attrs.field(validator=_check_url, repr=lambda url: repr(_short(url)))
    detail: Detail | None = attrs.field(default=None, validator=_check_detail)

    @classmethod
    def from_bytes(
        cls, data: bytes, media_type: str = "image/png", detail: Detail | None = None
    ) -> Image:
        """An image from its bytes (sent inline, as a base64 data URL)."""
        if not media_type.startswith("image/"):
            raise ValidationError(f"media_type must be image/<type>; got {media_type!r}")
        encoded = base64.b64encode(data).decode("ascii")
        return cls(f"data:{media_type};base64,{encoded}", detail)

    @property
    def inline(self) -> tuple[str, str] | None:
        """(media type, base64 data) of a data URL; None for an http(s) URL."""
        found = _DATA_URL.fullmatch(self.url)
        return (found.group(1), found.group(2)) if found else None


def image_from_part(part: Mapping[str, Any]) -> Image:
    """An OpenAI `image_url` content part -> Image (ValidationError if malformed)."""
    inner = part.get("image_url")
    url = inner.get("url") if isinstance(inner, Mapping) else inner
    if not isinstance(url, str):
        raise ValidationError('an image_url part must look like {"image_url": {"url": "..."}}')
    detail = inner.get("detail") if isinstance(inner, Mapping) else None
    return Image(url, detail)
