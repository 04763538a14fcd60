"""Embeddings from the local GGUF model: a second llama context in embedding mode.

Loaded on the first `embed`, not before: most users of the local model
only generate, and a context costs memory. It is a separate `Llama(...,
embedding=True)` because a context makes either logits or embeddings.

Pooling is done here, not by llama.cpp: batched decoding crashes this CPU
build (see `n_batch` in _local.py), and with one token per decode llama.cpp's
own mean pooling sees one token at a time. So each text is decoded token by
token with pooling off, and we average the tokens' hidden states (mean
pooling) and scale the mean to unit length, as OpenAI's vectors are. This
also lets a cancel stop between two tokens: the worker thread checks a stop
flag before each decode, and the caller waits (shielded) for the thread, so
no thread outlives the call.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import trio

from ..errors import BadRequest, ContextTooLong, ProviderUnavailable
from ..types import EmbeddingRequest, EmbeddingResponse, Usage
from ._llama_thread import free_llama, import_llama_cpp, load_llama, run_stoppable

# The context size of the embedding context: a longer text is refused (ContextTooLong).
_EMBED_CTX = 2048


class _Stopped(Exception):
    """The caller left: the worker thread stops between two tokens."""


class LocalEmbedder:
    """Mean-pooled, unit-length embeddings of one GGUF model, one call at a time."""

    def __init__(
        self,
        path: Path,
        options: Mapping[str, Any],
        fail: Callable[[type[BadRequest | ProviderUnavailable], str], Exception],
    ) -> None:
        self.path = path
        self._options = options
        self._fail = fail
        self._llama: Any = None
        self._closed = False
        self._stop: threading.Event | None = None  # the running call's stop flag
        # One call at a time: a llama context is not thread safe. A semaphore,
        # not a Lock, for the same reason as the generation turn in _local.py.
        self._turn = trio.Semaphore(1, max_value=1)
        self.loads = 0

    async def embed(self, request: EmbeddingRequest, model_name: str) -> EmbeddingResponse:
        """Raises BadRequest for `dimensions` other than the model's own,
        ContextTooLong for a text past the context, ProviderUnavailable once closed.
        On cancel it returns after the worker thread stopped (within one token)."""
        async with self._turn:
            if self._closed:
                raise self._fail(ProviderUnavailable, "this local model was closed")
            if self._llama is None:
                await trio.to_thread.run_sync(self._load_in_thread)
            llama = self._llama
            size = int(llama.n_embd())
            if request.dimensions is not None and request.dimensions != size:
                raise self._fail(
                    BadRequest,
                    f"the local model's embeddings have {size} dimensions and cannot be "
                    f"shortened: leave dimensions= unset (got {request.dimensions})",
                )
            stop = self._stop = threading.Event()
            try:
                vectors, tokens = await run_stoppable(
                    lambda stop: self._embed_in_thread(llama, request.texts, stop), stop
                )
            except _Stopped:  # aclose stopped it (a cancel re-raises Cancelled instead)
                raise self._fail(
                    ProviderUnavailable, "the local model was closed during this call"
                ) from None
            finally:
                self._stop = None
        return EmbeddingResponse(
            vectors=vectors, model=model_name, usage=Usage(prompt_tokens=tokens)
        )

    def _load_in_thread(self) -> None:
        self._llama = load_llama(
            self.path,
            embedding=True,
            n_ctx=_EMBED_CTX,
            n_batch=1,  # see the module docstring
            n_ubatch=1,
            n_threads=int(self._options.get("n_threads") or 1),
            pooling_type=import_llama_cpp().LLAMA_POOLING_TYPE_NONE,
        )
        self.loads += 1

    def _embed_in_thread(
        self, llama: Any, texts: tuple[str, ...], stop: threading.Event
    ) -> tuple[tuple[tuple[float, ...], ...], int]:
        import llama_cpp

        size = int(llama.n_embd())
        vectors = []
        total = 0
        for text in texts:
            tokens = llama.tokenize(text.encode("utf-8"), add_bos=True)
            if len(tokens) > _EMBED_CTX:
                raise ContextTooLong(
                    f"a text of {len(tokens)} tokens does not fit the embedding context "
                    f"of {_EMBED_CTX} tokens",
                    provider="local",
                    model=self.path.stem,
                )
            total += len(tokens)
            sums = [0.0] * size
            llama._ctx.kv_cache_clear()  # each text starts from an empty context
            for position, token in enumerate(tokens):
                if stop.is_set():
                    raise _Stopped
                llama._batch.set_batch([token], n_past=position, logits_all=True)
                try:
                    llama._ctx.decode(llama._batch)
                except RuntimeError as exc:
                    raise self._fail(ProviderUnavailable, f"the local model failed: {exc}") from exc
                row = llama_cpp.llama_get_embeddings_ith(llama._ctx.ctx, 0)
                for i in range(size):
                    sums[i] += row[i]
            norm = math.sqrt(sum(x * x for x in sums)) or 1.0
            vectors.append(tuple(x / norm for x in sums))  # the mean, scaled to length 1
        return tuple(vectors), total

    async def aclose(self) -> None:
        """Stop a running call (within a token), wait for its thread, then free
        the model. Shielded, like LocalAdapter.aclose."""
        self._closed = True
        if self._stop is not None:
            self._stop.set()
        with trio.CancelScope(shield=True):
            async with self._turn:
                llama, self._llama = self._llama, None
            if llama is not None:
                await free_llama(llama)
