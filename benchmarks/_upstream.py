"""A fake OpenAI server in a process of its own, for benchmarks whose calls
must not share a CPU thread with the server that answers them (a real
provider never runs inside its caller's process).

    python benchmarks/_upstream.py TTFT
prints its base URL on one line once it listens, answers every chat request
with `Reply(text="ok", ttft=TTFT)`, and exits when its stdin closes.
"""

from __future__ import annotations

import resource
import sys

import trio

from abstractcore_actors.testing import Reply, open_fake_openai_server


async def main(ttft: float) -> None:
    async with open_fake_openai_server(default=Reply(text="ok", ttft=ttft)) as server:
        print(server.base_url, flush=True)
        stdin = trio.lowlevel.FdStream(sys.stdin.fileno())
        while await stdin.receive_some():  # the parent closed our stdin: stop
            pass


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    trio.run(main, float(sys.argv[1]))
