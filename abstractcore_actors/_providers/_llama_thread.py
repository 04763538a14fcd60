"""The worker-thread harness both local contexts share: load, run, free.

llama.cpp blocks, so every decode runs in a worker thread. Generation
(`_local.py`) and embeddings (`_local_embed.py`) use the same three steps:

- `load_llama` (in a thread): import llama_cpp, build a `Llama` under the
  process-wide load lock, map a failed load to ConfigurationError.
- `WorkerThread`: start the work with `trio.lowlevel.start_thread_soon`
  (no nursery needed, so an async generator can own it), and learn in trio,
  through `done`, when the thread has ended and how (`result`).
  `run_stoppable` is the common case: run, and on any exit set the stop
  flag and wait for the thread, shielded, so no thread outlives the call.
- `free_llama`: close a model under the same lock, in a thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import outcome
import trio

from ..errors import ConfigurationError

T = TypeVar("T")

# llama.cpp's model loading is not thread safe: two loads at once in two
# threads can end the whole process silently (seen here: exit status 0, no
# atexit hooks). The hazard is per process, so this one lock is too — the
# only module-level state in the package, guarding a C library, not ours.
LLAMA_LOAD_LOCK = threading.Lock()

# The worker thread carries this name while it works (trio's thread cache
# renames it back when the job ends), so tests can see that none is left.
WORKER_THREAD_NAME = "abstractcore-actors local model"


def import_llama_cpp() -> Any:
    """llama_cpp, imported on first use (the `local` extra is optional)."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ConfigurationError(
            "the local provider needs llama-cpp-python: pip install 'abstractcore-actors[local]'"
        ) from exc
    return llama_cpp


def load_llama(path: Path, **params: Any) -> Any:
    """A `llama_cpp.Llama` for `path` (call in a worker thread). Raises
    ConfigurationError when llama-cpp-python is missing or the file does not load."""
    llama_cpp = import_llama_cpp()
    try:
        with LLAMA_LOAD_LOCK:
            llama = llama_cpp.Llama(model_path=str(path), verbose=False, **params)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ConfigurationError(f"cannot load the local model {path}: {exc}") from exc
    # `verbose=False` still lets through the lines llama.cpp logs at error
    # level, and it logs one each time a decode is aborted or the cache is
    # trimmed: a cancel or a race's loser, both normal here. llama-cpp-python
    # routes its native log through this logger and resets its level on every
    # load, hence after each.
    logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL + 1)
    return llama


async def free_llama(llama: Any) -> None:
    """Close a model in a worker thread: freeing is as unsafe to overlap as loading."""

    def free() -> None:
        with LLAMA_LOAD_LOCK:
            llama.close()

    await trio.to_thread.run_sync(free)


class WorkerThread(Generic[T]):
    """One job in a worker thread, watched from trio.

    `done` is set in trio once the thread has ended, with `result` its
    outcome; `on_end` (optional) runs in trio just before, e.g. to close the
    channel the thread was feeding. Must be created inside a trio run."""

    def __init__(self, work: Callable[[], T], *, on_end: Callable[[], None] | None = None) -> None:
        self.done = trio.Event()
        self.result: outcome.Outcome[T] | None = None
        token = trio.lowlevel.current_trio_token()

        def finish(out: outcome.Outcome[T]) -> None:  # in trio, once the thread ended
            self.result = out
            if on_end is not None:
                on_end()
            self.done.set()

        def deliver(out: outcome.Outcome[T]) -> None:  # in the thread, at its end
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(finish, out)

        trio.lowlevel.start_thread_soon(work, deliver, name=WORKER_THREAD_NAME)

    async def wait_shielded(self) -> None:
        """Wait for the thread even inside a cancelled scope: the caller has
        already told it to stop, so the wait is short."""
        with trio.CancelScope(shield=True):
            await self.done.wait()

    def unwrap(self) -> T:
        """The thread's return value, or its exception raised here (after `done`)."""
        assert self.result is not None, "unwrap() before the thread ended"
        return self.result.unwrap()


async def run_stoppable(work: Callable[[threading.Event], T], stop: threading.Event) -> T:
    """Run `work(stop)` in a worker thread; on cancel set `stop` and wait for the
    thread (shielded), so the thread never outlives this call."""
    thread = WorkerThread(lambda: work(stop))
    try:
        await thread.done.wait()
    finally:
        stop.set()
        await thread.wait_shielded()
    return thread.unwrap()
