"""The message types every layer speaks: attrs frozen values, keyword-only.

Dicts appear only at the wire edge (adapters, the gateway); inside the
runtime everything is one of these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from . import _json_depth
from ._accounting import Cost as Cost
from ._accounting import Usage as Usage
from ._image import Image as Image
from ._image import image_from_part as _image_from_part
from .errors import ValidationError

Role = Literal["system", "user", "assistant", "tool"]
_ROLES = ("system", "user", "assistant", "tool")


@attrs.frozen(kw_only=True, slots=True)
class ToolCall:
    """A tool call the model asked for. `arguments` is the parsed JSON object;
    `raw_arguments` is the text the model sent (kept when it was not valid JSON)."""

    id: str
    name: str
    arguments: Mapping[str, Any] = attrs.field(factory=dict)
    raw_arguments: str = ""

    @classmethod
    def from_raw(cls, *, id: str, name: str, raw_arguments: str) -> ToolCall:
        """Parse the model's argument text; malformed JSON (or JSON nested past
        `_json_depth.DEFAULT_MAX_DEPTH`) keeps `arguments` empty."""
        try:
            parsed = _json_depth.loads(raw_arguments) if raw_arguments.strip() else {}
        except ValueError:
            parsed = {}
        return cls(
            id=id,
            name=name,
            arguments=parsed if isinstance(parsed, dict) else {},
            raw_arguments=raw_arguments,
        )

    @property
    def arguments_are_valid_json(self) -> bool:
        if not self.raw_arguments.strip():
            return True
        try:
            return isinstance(_json_depth.loads(self.raw_arguments), dict)
        except ValueError:
            return False


@attrs.frozen(kw_only=True, slots=True)
class ToolCallDelta:
    """A piece of a streamed tool call; pieces with the same `index` add up."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@attrs.frozen(kw_only=True, slots=True)
class ToolResult:
    """The result of running one tool call, as the model will see it."""

    call_id: str
    name: str
    content: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen(kw_only=True, slots=True)
class ServerToolCall:
    """A tool call the gateway ran itself (an `[mcp.NAME]` server's tool):
    which server and tool (the server's own name), the model's arguments as
    it sent them, and the result the model got. OpenAI's Responses format
    lists these as `mcp_call` items."""

    id: str
    server: str
    name: str
    arguments: str
    output: str = ""
    error: str | None = None


@attrs.frozen(kw_only=True, slots=True)
class ToolSpec:
    """What the model is told about a tool: name, description, JSON schema."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = attrs.field(
        factory=lambda: {"type": "object", "properties": {}}
    )

    @classmethod
    def coerce(cls, tool: object) -> ToolSpec:
        """Accept a ToolSpec, anything with a `.spec`, or an OpenAI-style dict."""
        if isinstance(tool, ToolSpec):
            return tool
        spec = getattr(tool, "spec", None)
        if isinstance(spec, ToolSpec):
            return spec
        if isinstance(tool, Mapping):
            fn = tool.get("function", tool)
            if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
                return cls(
                    name=fn["name"],
                    description=str(fn.get("description", "")),
                    parameters=fn.get("parameters") or {"type": "object", "properties": {}},
                )
        raise ValidationError(
            f"cannot use {tool!r} as a tool: pass a ToolSpec, a @tool function, or an "
            'OpenAI-style dict {"type": "function", "function": {"name": ..., "parameters": ...}}'
        )


def _check_role(instance: Message, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _ROLES:
        raise ValidationError(f"message role must be one of {', '.join(_ROLES)}; got {value!r}")


def _images(value: Sequence[Image]) -> tuple[Image, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True, slots=True)
class Message:
    """One turn of a conversation."""

    role: Role = attrs.field(validator=_check_role)
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # for role "tool": which call this answers
    name: str | None = None  # for role "tool": the tool's name
    # for role "user": images beside the text (each provider's wire carries them)
    images: tuple[Image, ...] = attrs.field(default=(), converter=_images)

    def __attrs_post_init__(self) -> None:
        if self.images and self.role != "user":
            raise ValidationError(
                f"images belong in user messages; this one is a {self.role!r} message"
            )
        for image in self.images:
            if not isinstance(image, Image):
                raise ValidationError(
                    f"a message's images must be Image values; got {type(image).__name__} "
                    '(Image("https://...") or Image.from_bytes(data, "image/png"))'
                )

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str, images: Sequence[Image] = ()) -> Message:
        return cls(role="user", content=content, images=tuple(images))

    @classmethod
    def assistant(cls, content: str = "", tool_calls: Sequence[ToolCall] = ()) -> Message:
        return cls(role="assistant", content=content, tool_calls=tuple(tool_calls))

    @classmethod
    def tool(cls, result: ToolResult) -> Message:
        content = result.content if result.ok else f"error: {result.error}"
        return cls(role="tool", content=content, tool_call_id=result.call_id, name=result.name)

    @classmethod
    def coerce(cls, value: object) -> Message:
        """Accept a Message or an OpenAI-style dict {"role": ..., "content": ...}."""
        if isinstance(value, Message):
            return value
        if isinstance(value, Mapping) and "role" in value:
            content = value.get("content") or ""
            images: tuple[Image, ...] = ()
            if not isinstance(content, str):
                content, images = _flatten_content(content)
            return cls(
                role=value["role"],
                content=content,
                images=images,
                tool_calls=_coerce_tool_calls(value.get("tool_calls")),
                tool_call_id=value.get("tool_call_id"),
                name=value.get("name"),
            )
        raise ValidationError(
            f'cannot use {value!r} as a message: pass a Message or a dict with "role" and "content"'
        )


def _coerce_tool_calls(calls: object) -> tuple[ToolCall, ...]:
    """OpenAI-style assistant `tool_calls` (or ToolCall values) -> ToolCalls."""
    if not calls:
        return ()
    if not isinstance(calls, Sequence) or isinstance(calls, str):
        raise ValidationError(f"tool_calls must be a list, got {type(calls).__name__}")
    out = []
    for call in calls:
        if isinstance(call, ToolCall):
            out.append(call)
            continue
        fn = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            raise ValidationError(
                'each tool call must look like {"id": ..., "type": "function", '
                f'"function": {{"name": ..., "arguments": "..."}}}}; got {call!r}'
            )
        arguments = fn.get("arguments") or ""
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        out.append(
            ToolCall.from_raw(id=str(call.get("id", "")), name=fn["name"], raw_arguments=arguments)
        )
    return tuple(out)


def _flatten_content(parts: object) -> tuple[str, tuple[Image, ...]]:
    """OpenAI content parts -> (text, images); other parts (audio) are refused."""
    if not isinstance(parts, Sequence) or isinstance(parts, (str, bytes)):
        raise ValidationError(f"message content must be text; got {type(parts).__name__}")
    texts: list[str] = []
    images: list[Image] = []
    for part in parts:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            images.append(_image_from_part(part))
        else:
            raise ValidationError(
                f"message content parts must be text or image_url parts; got {repr(part)[:80]}"
            )
    return "".join(texts), tuple(images)


@attrs.frozen(kw_only=True, slots=True)
class Timings:
    """Seconds from the request to the first token (None: no token) and to the end."""

    ttft: float | None = None
    total: float = 0.0


@attrs.frozen(kw_only=True, slots=True)
class TokenLogprob:
    """One generated token's log probability, and the most likely alternatives
    (`top`: (token, logprob) pairs), when the call asked for `logprobs=True`
    (and `top_logprobs=N`) of a provider that gives them (OpenAI's wire)."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@attrs.frozen(kw_only=True, slots=True)
class Chunk:
    """One piece of a streamed answer. The last one carries finish_reason and usage."""

    text: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    logprobs: tuple[TokenLogprob, ...] = ()  # this piece's tokens, when asked for
    # tool calls the gateway's tool loop has just run (between two steps' text)
    server_tool_calls: tuple[ServerToolCall, ...] = ()

    @property
    def is_final(self) -> bool:
        return self.finish_reason is not None


@attrs.frozen(kw_only=True, slots=True)
class RouteAttempt:
    """One step of a routed call: a deployment was `skipped` (cooling down, or
    it does not fit the request), `failed`, or `answered`; `reason` says why it
    was chosen (or skipped), `error` what went wrong."""

    deployment: str
    provider: str
    model: str
    outcome: Literal["answered", "failed", "skipped"]
    reason: str = ""
    error: str = ""
    duration: float = 0.0


@attrs.frozen(kw_only=True, slots=True)
class GenerateResponse:
    """A complete answer."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage = attrs.field(factory=Usage)
    model: str = ""
    provider: str = ""
    timings: Timings = attrs.field(factory=Timings)
    request_id: str = ""
    logprobs: tuple[TokenLogprob, ...] = ()  # every token's, when asked for
    # What the call cost (None: nobody priced it, e.g. an answer built by hand).
    cost: Cost | None = None
    # A router's steps to this answer, in order (empty: no router was involved).
    route: tuple[RouteAttempt, ...] = ()
    # The gateway's tool loop: the tool calls it ran on the way, in order.
    server_tool_calls: tuple[ServerToolCall, ...] = ()

    @property
    def text(self) -> str:
        """Alias of `content`."""
        return self.content


@attrs.frozen(kw_only=True, slots=True)
class Request:
    """Everything a provider needs for one call (built by `LLM.generate/stream`)."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    tool_choice: str | None = None  # "auto" | "none" | "required" | a tool name to force
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    request_id: str = ""
    session_id: str | None = None  # set by a session actor; carried on events


@attrs.frozen(kw_only=True, slots=True)
class EmbeddingRequest:
    """Texts to embed in one call (built and checked by `LLM.embed`) — or,
    instead, `tokens`: token-id arrays in the upstream model's own tokenizer
    (OpenAI's API takes them; LangChain's `OpenAIEmbeddings` sends them)."""

    texts: tuple[str, ...]
    dimensions: int | None = None  # ask for shorter vectors, where the model can
    request_id: str = ""
    tokens: tuple[tuple[int, ...], ...] = ()

    @property
    def inputs(self) -> list[str] | list[list[int]]:
        """What the wire's `input` carries: the texts, or the token arrays."""
        if self.tokens:
            return [list(ids) for ids in self.tokens]
        return list(self.texts)

    def __len__(self) -> int:
        return len(self.tokens) or len(self.texts)


@attrs.frozen(kw_only=True, slots=True)
class EmbeddingResponse:
    """One vector per input text, in input order. `usage.prompt_tokens` counts
    the tokens read; `duration` is seconds from the request to the answer."""

    vectors: tuple[tuple[float, ...], ...]
    model: str = ""
    provider: str = ""
    usage: Usage = attrs.field(factory=Usage)
    request_id: str = ""
    duration: float = 0.0
    cost: Cost | None = None  # what the call cost (None: nobody priced it)

    @property
    def dimensions(self) -> int:
        """The length of each vector (0 when there are none)."""
        return len(self.vectors[0]) if self.vectors else 0


__all__ = [
    "Chunk",
    "Cost",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "GenerateResponse",
    "Image",
    "Message",
    "Request",
    "RouteAttempt",
    "ServerToolCall",
    "Timings",
    "TokenLogprob",
    "ToolCall",
    "ToolCallDelta",
    "ToolResult",
    "ToolSpec",
    "Usage",
    "ValidationError",
]
