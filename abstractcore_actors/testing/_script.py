"""What a fake server answers: scripted replies and faults, and the record of a request.

These are plain values. The servers in `_openai.py` and `_anthropic.py` turn
them into each vendor's wire format, so one script can drive either server.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TypeAlias

import attrs

from .._wire.anthropic_messages import stop_reason
from ..types import Usage

# A piece is a run of whitespace followed by a word, or trailing whitespace:
# "".join(pieces) == text always, so streamed text reassembles exactly.
_PIECES = re.compile(r"\s*\S+|\s+")


def split_pieces(text: str) -> list[str]:
    """`text` cut into word-ish pieces that keep their whitespace (they join back to `text`)."""
    return _PIECES.findall(text)


@attrs.frozen(kw_only=True)
class FakeUsage:
    """Token counts a reply reports instead of the counted defaults."""

    prompt_tokens: int = attrs.field(validator=attrs.validators.ge(0))
    completion_tokens: int = attrs.field(validator=attrs.validators.ge(0))
    # of the prompt tokens, those the provider's cache served (priced lower)
    cached_prompt_tokens: int = attrs.field(default=0, validator=attrs.validators.ge(0))


@attrs.frozen(kw_only=True)
class FakeToolCall:
    """A tool call in a reply.

    A dict `arguments` is sent as JSON; a `str` is sent verbatim, even when it
    is not JSON, so a test can see how its code meets a model's malformed
    arguments. `id` defaults to `call_<i>` (OpenAI) / `toolu_<i>` (Anthropic),
    `i` being the call's position in the reply.
    """

    name: str
    arguments: Mapping[str, object] | str = attrs.field(factory=dict)
    id: str | None = None


def _tuple_or_none(chunks: Sequence[str] | None) -> tuple[str, ...] | None:
    # a tuple, so that a list the caller changes later cannot change the reply
    return None if chunks is None else tuple(chunks)


def _check_chunks(
    instance: Reply, attribute: attrs.Attribute[Sequence[str] | None], value: Sequence[str] | None
) -> None:
    if value is not None and instance.text and "".join(value) != instance.text:
        raise ValueError("Reply: give `text` or `chunks`, or chunks that join to `text`")


@attrs.frozen(kw_only=True)
class Reply:
    """A successful answer.

    `chunks` are the streamed text pieces (default: `text` split into words
    with their whitespace). `finish_reason` is OpenAI-style (default "stop",
    or "tool_calls" when there are tool calls); the Anthropic server maps it
    ("stop" -> "end_turn", "length" -> "max_tokens", "tool_calls" ->
    "tool_use"). `usage` defaults to counts: prompt tokens are the words of
    the request's messages, completion tokens the streamed chunks. `ttft` is
    the wait before the first byte of the body (non-stream: before the
    response), `token_latency` the model's pace: chunk n is due `n * token_latency`
    after the first, however long sending took. `model` defaults
    to the model the request named. `stream_usage=False` plays a server that
    ignores `stream_options.include_usage` (llama.cpp's server does): the
    stream carries no usage at all.
    """

    text: str = ""
    chunks: Sequence[str] | None = attrs.field(
        default=None, converter=_tuple_or_none, validator=_check_chunks
    )
    tool_calls: Sequence[FakeToolCall] = attrs.field(default=(), converter=tuple)
    finish_reason: str | None = None
    usage: FakeUsage | None = None
    ttft: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    token_latency: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    model: str | None = None
    stream_usage: bool = True

    def pieces(self) -> list[str]:
        """The text pieces a stream sends, in order."""
        return list(self.chunks) if self.chunks is not None else split_pieces(self.text)

    @property
    def full_text(self) -> str:
        """The whole text of the answer (what a non-streaming response carries)."""
        return "".join(self.chunks) if self.chunks is not None else self.text

    def openai_finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    def anthropic_finish(self) -> str:
        return stop_reason(self.openai_finish())


FaultKind: TypeAlias = Literal[
    "status",
    "reset",
    "stall",
    "malformed",
    "truncate",
    "sse_error",
    # a faulty or hostile upstream (see _hostile.py)
    "gzip_bomb",
    "huge_body",
    "huge_headers",
    "long_line",
    "nested",
    "drip",
]
_KINDS: tuple[str, ...] = typing.get_args(FaultKind)

#: what a fault that fires after some chunks streams first, unless given `reply=`
DEFAULT_FAULT_REPLY = Reply(text="this partial answer is cut short by an injected fault")


@attrs.frozen(kw_only=True)
class Fault:
    """A failure to act out instead of (or in the middle of) a reply.

    Build one with the class methods. `after_chunks` counts the chunks of
    `reply` streamed before the fault fires (text or tool-argument pieces);
    past the last chunk it fires just before the stream's normal end. `ttft`
    is the wait before anything happens (default: `reply`'s ttft), and
    `reply`'s `token_latency` paces the chunks before the fault.
    """

    kind: FaultKind = attrs.field(validator=attrs.validators.in_(_KINDS))
    status_code: int = 500
    message: str = "fault injected by the fake server"
    retry_after: float | None = None
    after_chunks: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    seconds: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    ttft: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    reply: Reply | None = None
    #: bytes of a hostile answer (inflated, padded, of headers, of a line)
    size: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    #: how deep a `nested` answer nests
    depth: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    @classmethod
    def status(
        cls,
        code: int,
        message: str = "fault injected by the fake server",
        retry_after: float | None = None,
        *,
        ttft: float = 0.0,
    ) -> Fault:
        """An HTTP error `code` with the provider's error body, and a `Retry-After`
        header (seconds) when `retry_after` is given."""
        return cls(
            kind="status", status_code=code, message=message, retry_after=retry_after, ttft=ttft
        )

    @classmethod
    def reset(
        cls, after_chunks: int = 0, *, reply: Reply | None = None, ttft: float = 0.0
    ) -> Fault:
        """Abort the TCP connection with a RST after `after_chunks` chunks
        (non-stream: before any response)."""
        return cls(kind="reset", after_chunks=after_chunks, reply=reply, ttft=ttft)

    @classmethod
    def stall(
        cls,
        seconds: float,
        after_chunks: int = 0,
        *,
        reply: Reply | None = None,
        ttft: float = 0.0,
    ) -> Fault:
        """Send nothing for `seconds` after `after_chunks` chunks, then go on normally
        (non-stream: a delay before the response). Waits with `trio.sleep`, so a
        MockClock skips it."""
        return cls(kind="stall", seconds=seconds, after_chunks=after_chunks, reply=reply, ttft=ttft)

    @classmethod
    def malformed(
        cls, after_chunks: int = 0, *, reply: Reply | None = None, ttft: float = 0.0
    ) -> Fault:
        """An SSE event whose data is `{not json` (non-stream: a 200 whose body is not JSON)."""
        return cls(kind="malformed", after_chunks=after_chunks, reply=reply, ttft=ttft)

    @classmethod
    def truncate(
        cls, after_chunks: int = 0, *, reply: Reply | None = None, ttft: float = 0.0
    ) -> Fault:
        """End the stream cleanly at the HTTP level but without its end marker
        (`[DONE]` / `message_stop`); non-stream: a body shorter than its
        Content-Length, then close."""
        return cls(kind="truncate", after_chunks=after_chunks, reply=reply, ttft=ttft)

    @classmethod
    def sse_error(
        cls,
        after_chunks: int = 0,
        message: str = "Overloaded",
        *,
        reply: Reply | None = None,
        ttft: float = 0.0,
    ) -> Fault:
        """An error event mid-stream: Anthropic `event: error` (overloaded_error),
        OpenAI `data: {"error": ...}`. Non-stream: HTTP 529 overloaded_error
        (Anthropic) / 500 server_error (OpenAI)."""
        return cls(
            kind="sse_error", after_chunks=after_chunks, message=message, reply=reply, ttft=ttft
        )

    # -- a faulty or hostile upstream: every large answer is generated as it is sent

    @classmethod
    def gzip_bomb(cls, size: int = 1 << 30) -> Fault:
        """A gzip body (~1 KB per MB) that inflates to `size` bytes: whitespace and
        then the answer (still valid JSON); streamed, an SSE comment line of
        `size` spaces. Compressed while sent, never built whole."""
        return cls(kind="gzip_bomb", size=size)

    @classmethod
    def huge_body(cls, size: int = 100 << 20, after_chunks: int = 0) -> Fault:
        """An answer `size` bytes larger: whitespace before its JSON; streamed,
        one event of `size` bytes after `after_chunks` chunks."""
        return cls(kind="huge_body", size=size, after_chunks=after_chunks)

    @classmethod
    def huge_headers(cls, size: int = 8 << 20) -> Fault:
        """A response head with `size` bytes of `x-padding` headers, then the answer."""
        return cls(kind="huge_headers", size=size)

    @classmethod
    def long_line(cls, size: int = 100 << 20, after_chunks: int = 0) -> Fault:
        """Streamed: after `after_chunks` chunks, `data: ` and `size` bytes with no
        line ending, then the end of the body. Not streamed: as `huge_body`."""
        return cls(kind="long_line", size=size, after_chunks=after_chunks)

    @classmethod
    def nested(cls, depth: int = 100_000, *, status: int = 200, after_chunks: int = 0) -> Fault:
        """JSON nested `depth` deep: the whole answer, or (streamed) an SSE
        data line after `after_chunks` chunks; with an error `status`, the
        error body (its `error.detail`), streamed or not."""
        return cls(kind="nested", depth=depth, status_code=status, after_chunks=after_chunks)

    @classmethod
    def drip(cls, seconds: float = 1.0, *, reply: Reply | None = None) -> Fault:
        """The answer (streamed or not), its head at once, then its body one
        byte every `seconds` (trio's clock: a MockClock skips the waits)."""
        return cls(kind="drip", seconds=seconds, reply=reply)

    def scripted_reply(self) -> Reply:
        """The reply whose chunks stream before the fault fires."""
        return self.reply or DEFAULT_FAULT_REPLY

    def wait_first(self) -> float:
        """Seconds before anything is sent: the fault's ttft, else its reply's."""
        return self.ttft or (self.reply.ttft if self.reply else 0.0)


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """A request as the server received it: header names lower-cased, the raw
    body, and `json` (the parsed body, or None when it is not JSON)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    json: object | None


Step: TypeAlias = Reply | Fault
Script: TypeAlias = Sequence[Step] | Callable[[RecordedRequest], Step]


def _body(request: RecordedRequest) -> Mapping[str, object]:
    return request.json if isinstance(request.json, Mapping) else {}


def _text_of(content: object) -> str:
    """The text of a message's content: a string, or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and isinstance(part.get("text"), str)
        )
    return ""


def last_user_text(request: RecordedRequest) -> str:
    """The text of the request's last user message (OpenAI or Anthropic shape), or ""."""
    messages = _body(request).get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def prompt_tokens(request: RecordedRequest) -> int:
    """A rough token count of the request: the words of its messages (and
    Anthropic's top-level `system`), at least 1."""
    body = _body(request)
    messages = body.get("messages")
    texts = [_text_of(body.get("system"))]
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, Mapping):
            texts.append(_text_of(message.get("content")))
    return max(sum(len(text.split()) for text in texts), 1)


@attrs.frozen
class TextPiece:
    """A streamed piece of the answer's text."""

    text: str


@attrs.frozen
class ToolStart:
    """The start of tool call number `index` (its id and name)."""

    index: int
    call: FakeToolCall


@attrs.frozen
class ArgsPiece:
    """A piece of tool call number `index`'s arguments."""

    index: int
    text: str


Unit: TypeAlias = TextPiece | ToolStart | ArgsPiece


def arguments_text(call: FakeToolCall) -> str:
    """The arguments as sent on the wire: a str verbatim, a mapping as JSON."""
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def stream_units(reply: Reply) -> list[Unit]:
    """The chunks a stream of `reply` sends, in order, the same for both protocols
    so that `after_chunks` and the default completion count mean one thing:
    the text pieces, then for each tool call its start and its argument pieces."""
    units: list[Unit] = [TextPiece(text) for text in reply.pieces()]
    for index, call in enumerate(reply.tool_calls):
        units.append(ToolStart(index, call))
        units.extend(ArgsPiece(index, part) for part in split_pieces(arguments_text(call)))
    return units


def completion_tokens(reply: Reply) -> int:
    """The completion token count a reply reports: its own, else its chunk count."""
    return reply.usage.completion_tokens if reply.usage else len(stream_units(reply))


def reply_usage(reply: Reply, request: RecordedRequest) -> Usage:
    """The usage a reply reports: its own, else counted (see `Reply`)."""
    if reply.usage is not None:
        return Usage(
            prompt_tokens=reply.usage.prompt_tokens,
            completion_tokens=reply.usage.completion_tokens,
            cached_prompt_tokens=reply.usage.cached_prompt_tokens,
        )
    return Usage(prompt_tokens=prompt_tokens(request), completion_tokens=completion_tokens(reply))


def echo(request: RecordedRequest) -> Reply:
    """The default answer: `"echo: "` + the last user message's text."""
    return Reply(text="echo: " + last_user_text(request))
