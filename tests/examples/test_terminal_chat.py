"""examples/terminal_chat.py in a real terminal (a pty it has as its
controlling terminal): answers stream in, Ctrl-C (the byte the tty turns
into SIGINT) stops only the answer under way — the upstream call is
cancelled, the chat goes on — and /quit leaves cleanly."""

from __future__ import annotations

import fcntl
import os
import re
import sys
import termios
from pathlib import Path

import trio

from abstractcore_actors.testing import Reply, open_fake_openai_server

EXAMPLE = Path(__file__).parents[2] / "examples" / "terminal_chat.py"
DEADLINE = 30
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def _own_terminal() -> None:  # in the child, before exec: the pty becomes its terminal
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Screen:
    """What the program wrote to the terminal, read from the pty's master side."""

    def __init__(self, master: int) -> None:
        self.stream = trio.lowlevel.FdStream(master)
        self.text = b""

    async def until(self, wanted: bytes, after: int = 0) -> int:
        """Read until `wanted` appears past offset `after`; its end offset."""
        while True:
            plain = ANSI.sub(b"", self.text)
            found = plain.find(wanted, after)
            if found >= 0:
                return found + len(wanted)
            data = await self.stream.receive_some(4096)
            assert data, f"the terminal closed; it showed: {plain[-500:]!r}"
            self.text += data

    async def type(self, data: bytes) -> None:
        await self.stream.send_all(data)


async def test_ctrl_c_stops_only_the_answer_and_the_chat_goes_on() -> None:
    async with open_fake_openai_server() as upstream:
        upstream.push(
            Reply(chunks=["Hello ", "[bold]there[/]"]),
            Reply(text="word " * 400, token_latency=0.02),
            Reply(text="still here"),
        )
        master, slave = os.openpty()
        env = {
            **os.environ,
            "CHAT_PROVIDER": "openai-compatible",
            "CHAT_MODEL": "m",
            "CHAT_BASE_URL": upstream.base_url,
            "TERM": "xterm",
            "COLUMNS": "200",
        }
        process = await trio.lowlevel.open_process(
            [sys.executable, str(EXAMPLE)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=_own_terminal,
        )
        os.close(slave)
        screen = Screen(master)
        try:
            with trio.fail_after(DEADLINE):
                at = await screen.until(b"you> ")
                await screen.type(b"hi\n")
                # markup in the model's text is shown as text
                at = await screen.until(b"Hello [bold]there[/]", at)
                at = await screen.until(b"you> ", at)
                await screen.type(b"tell me a long story\n")
                at = await screen.until(b"word word word", at)
                await screen.type(b"\x03")  # Ctrl-C, as a person presses it
                at = await screen.until(b"[stopped]", at)
                while upstream.open_connections:  # noqa: ASYNC110 - the fake server's counter
                    await trio.sleep(0.02)
                at = await screen.until(b"you> ", at)
                await screen.type(b"are you there?\n")
                at = await screen.until(b"still here", at)
                await screen.type(b"/quit\n")
                await screen.until(b"bye", at)
                status = await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                with trio.CancelScope(shield=True):
                    await process.wait()
            await screen.stream.aclose()
    assert status == 0
    assert len(upstream.requests) == 3
    assert upstream.open_connections == 0
