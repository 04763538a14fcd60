"""A fake OpenAI server in a process of its own, for benchmarks whose calls
must not share a CPU thread with the server that answers them (a real
provider never runs inside its caller's process).

    python benchmarks/_upstream.py TTFT [--lean] [--embeddings]

prints its base URL on one line once it listens, answers every chat request
with "ok" after TTFT seconds, and exits when its stdin closes.

By default the server is the project's fake OpenAI server (h11, scripted
replies, streaming). `--lean` serves a fixed, pre-encoded chat.completion
with the least CPU per request (keep-alive HTTP/1.1, Content-Length bodies
only): at 1,000 requests in flight the default server's own Python HTTP
work, on its one core, would delay answers by hundreds of milliseconds,
and a benchmark of the *client's* overhead would measure the server. A real
provider's latency does not grow with one client's burst.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from abstractcore_actors.testing import Reply, open_fake_openai_server

_ANSWER = json.dumps(
    {
        "id": "chatcmpl-lean",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(_ANSWER),
    _ANSWER,
)


def _request_end(buffer: bytes) -> int:
    """Where the first whole request in `buffer` ends, or -1."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return -1
    length = 0
    for line in buffer[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    end = head_end + 4 + length
    return end if len(buffer) >= end else -1


async def _lean_connection(stream: trio.SocketStream, ttft: float) -> None:
    buffer = b""
    try:
        while True:
            while (end := _request_end(buffer)) < 0:
                data = await stream.receive_some(65536)
                if not data:
                    return
                buffer += data
            buffer = buffer[end:]
            await trio.sleep(ttft)
            await stream.send_all(_RESPONSE)
    except trio.BrokenResourceError:
        pass
    finally:
        await stream.aclose()


async def _wait_for_stdin_close() -> None:
    stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
    while await stdin.receive_some():  # the parent closed our stdin: stop
        pass


async def main(ttft: float, lean: bool, embeddings: bool = False) -> None:
    if not lean:
        async with open_fake_openai_server(default=Reply(text="ok", ttft=ttft)) as server:
            if embeddings:
                server.embedding_latency = ttft
            print(server.base_url, flush=True)
            await _wait_for_stdin_close()
        return
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1", backlog=4096)
    port = listeners[0].socket.getsockname()[1]
    async with trio.open_nursery() as nursery:
        handler = lambda stream: _lean_connection(stream, ttft)  # noqa: E731
        nursery.start_soon(trio.serve_listeners, handler, listeners)
        print(f"http://127.0.0.1:{port}/v1", flush=True)
        await _wait_for_stdin_close()
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def upstream_process(
    ttft: float, *, lean: bool = False, embeddings: bool = False
) -> AsyncIterator[str]:
    """This server in a child process; yields its base URL. `embeddings`: its
    embeddings requests take `ttft` seconds too."""
    script = str(Path(__file__))
    flags = [*(["--lean"] if lean else []), *(["--embeddings"] if embeddings else [])]
    process = await trio.lowlevel.open_process(
        [sys.executable, script, str(ttft), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        line = b""
        while not line.endswith(b"\n"):
            data = await process.stdout.receive_some()
            if not data:
                raise RuntimeError("the upstream process exited before it listened")
            line += data
        yield line.decode().strip()
    finally:
        with trio.CancelScope(shield=True):
            await process.stdin.aclose()  # its cue to stop
            with trio.move_on_after(5):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    trio.run(main, float(sys.argv[1]), "--lean" in sys.argv[2:], "--embeddings" in sys.argv[2:])
