"""The OpenAI embeddings wire format (`POST /embeddings`), as plain dicts.

Per OpenAI's API reference: the request has `model`, `input` (a string or
an array of strings), optional `encoding_format` ("float" or "base64") and
`dimensions`; the answer is `{"object": "list", "data": [{"object":
"embedding", "index": i, "embedding": [...]}], "model", "usage":
{"prompt_tokens", "total_tokens"}}`. A base64 embedding is the vector's
little-endian float32 bytes — a quarter of the JSON size, which is why the
openai SDK asks for it by default. Shared by the compatible adapter and the
gateway, and independent of the SDK's types.
"""

from __future__ import annotations

import base64
import binascii
import sys
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import EmbeddingRequest, EmbeddingResponse, Usage

ENCODINGS = ("float", "base64")


def request_body(request: EmbeddingRequest, model: str, encoding: str) -> dict[str, Any]:
    """The JSON body of POST /embeddings."""
    body: dict[str, Any] = {
        "model": model,
        "input": request.inputs,
        "encoding_format": encoding,
    }
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    return body


def encode_base64(vector: Sequence[float]) -> str:
    """A vector as base64 of little-endian float32 (what OpenAI sends)."""
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def decode_vector(value: object) -> tuple[float, ...]:
    """One `embedding` field: a list of numbers, or base64 float32 (ValueError if neither)."""
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"embedding is not valid base64 ({exc})") from exc
        if len(raw) % 4:
            raise ValueError(f"a base64 embedding of {len(raw)} bytes is not float32 values")
        floats = array("f")
        floats.frombytes(raw)
        if sys.byteorder != "little":
            floats.byteswap()
        return tuple(floats)
    if isinstance(value, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value
    ):
        return tuple(float(x) for x in value)
    raise ValueError(f"embedding must be a list of numbers or a base64 string, not {value!r:.60}")


def response_from_wire(data: object, inputs: int) -> EmbeddingResponse:
    """An embeddings `list` object -> EmbeddingResponse, vectors in input order.

    Raises ValueError (or KeyError/TypeError) when malformed, including when
    the indexes are not exactly 0..inputs-1; the caller maps it to InvalidResponse.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
        raise ValueError("not an embeddings list object (no `data` array)")
    by_index: dict[int, tuple[float, ...]] = {}
    for position, item in enumerate(data["data"]):
        index = item.get("index", position)
        if not isinstance(index, int) or isinstance(index, bool):
            raise ValueError(f"embedding index must be an integer, not {index!r}")
        by_index[index] = decode_vector(item["embedding"])
    if sorted(by_index) != list(range(inputs)):
        raise ValueError(
            f"expected {inputs} embeddings indexed 0..{inputs - 1}, got {sorted(by_index)}"
        )
    usage = data.get("usage")
    prompt = int(usage.get("prompt_tokens") or 0) if isinstance(usage, Mapping) else 0
    return EmbeddingResponse(
        vectors=tuple(by_index[i] for i in range(inputs)),
        model=str(data.get("model") or ""),
        usage=Usage(prompt_tokens=prompt),
    )


def response_to_wire(response: EmbeddingResponse, *, model: str, encoding: str) -> dict[str, Any]:
    """An EmbeddingResponse as OpenAI's embeddings `list` object (for the gateway)."""
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": encode_base64(vector) if encoding == "base64" else list(vector),
        }
        for i, vector in enumerate(response.vectors)
    ]
    tokens = response.usage.prompt_tokens
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
