"""What a fake server answers: scripted replies and faults."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import attrs

_PIECES = re.compile(r"\s*\S+|\s+")


@attrs.frozen(kw_only=True)
class FakeUsage:
    """Token counts a reply reports."""

    prompt_tokens: int
    completion_tokens: int


@attrs.frozen(kw_only=True)
class FakeToolCall:
    """A tool call in a reply. A `str` `arguments` is sent verbatim (even if not JSON)."""

    name: str
    arguments: Mapping[str, object] | str = attrs.field(factory=dict)
    id: str | None = None


@attrs.frozen(kw_only=True)
class Reply:
    """A successful answer.

    `chunks` are the streamed text pieces (default: `text` split into words,
    whitespace kept). `ttft` is the wait before the first byte of the body,
    `token_latency` the wait between pieces. `model` defaults to the model
    the request named.
    """

    text: str = ""
    chunks: Sequence[str] | None = None
    tool_calls: Sequence[FakeToolCall] = ()
    finish_reason: str | None = None
    usage: FakeUsage | None = None
    ttft: float = 0.0
    token_latency: float = 0.0
    model: str | None = None

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return _PIECES.findall(self.text)

    @property
    def full_text(self) -> str:
        return "".join(self.chunks) if self.chunks is not None else self.text

    def openai_finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    def anthropic_finish(self) -> str:
        mapped = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
        reason = self.openai_finish()
        return mapped.get(reason, reason)


FaultKind = Literal["status", "reset", "stall", "malformed", "truncate", "sse_error"]


@attrs.frozen(kw_only=True)
class Fault:
    """A failure to act out. Build one with the class methods."""

    kind: FaultKind
    status_code: int = 500
    message: str = "fault injected by the fake server"
    retry_after: float | None = None
    after_chunks: int = 0
    seconds: float = 0.0
    ttft: float = 0.0
    reply: Reply | None = None

    @classmethod
    def status(
        cls, code: int, message: str | None = None, retry_after: float | None = None
    ) -> Fault:
        """An HTTP error with a provider-shaped body (and Retry-After when given)."""
        return cls(
            kind="status",
            status_code=code,
            message=message or f"fake error {code}",
            retry_after=retry_after,
        )

    @classmethod
    def reset(cls, after_chunks: int = 0, reply: Reply | None = None) -> Fault:
        """Abort the TCP connection (RST) after `after_chunks` streamed pieces."""
        return cls(kind="reset", after_chunks=after_chunks, reply=reply)

    @classmethod
    def stall(cls, seconds: float, after_chunks: int = 0, reply: Reply | None = None) -> Fault:
        """Send nothing for `seconds` after `after_chunks` pieces, then go on normally."""
        return cls(kind="stall", seconds=seconds, after_chunks=after_chunks, reply=reply)

    @classmethod
    def malformed(cls, after_chunks: int = 0, reply: Reply | None = None) -> Fault:
        """An SSE data line that is not JSON (non-stream: a 200 with a non-JSON body)."""
        return cls(kind="malformed", after_chunks=after_chunks, reply=reply)

    @classmethod
    def truncate(cls, after_chunks: int = 0, reply: Reply | None = None) -> Fault:
        """End the stream cleanly but without its end marker ([DONE] / message_stop);
        non-stream: a body shorter than its Content-Length, then close."""
        return cls(kind="truncate", after_chunks=after_chunks, reply=reply)

    @classmethod
    def sse_error(
        cls, after_chunks: int = 0, message: str = "overloaded", reply: Reply | None = None
    ) -> Fault:
        """An error event in the middle of a stream."""
        return cls(kind="sse_error", after_chunks=after_chunks, message=message, reply=reply)

    def scripted_reply(self) -> Reply:
        return self.reply or Reply(text="partial answer cut short by a fault " * 3)


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """A request as the server received it (headers lowercased)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    json: object | None


Step = Reply | Fault
Script = Sequence[Step] | Callable[[RecordedRequest], Step]


def last_user_text(request: RecordedRequest) -> str:
    """The text of the last user message (OpenAI or Anthropic shape)."""
    body = request.json if isinstance(request.json, dict) else {}
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def prompt_tokens(request: RecordedRequest) -> int:
    """A rough token count of the request's messages (words)."""
    body = request.json if isinstance(request.json, dict) else {}
    words = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        words += len(str(content or "").split())
    return max(words, 1)
