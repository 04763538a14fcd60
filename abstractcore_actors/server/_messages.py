"""POST /v1/messages (and /v1/messages/count_tokens): Anthropic's Messages
API over every configured model, router and virtual model — the same flow
as chat completions (`_chat.answer_chat`), written in Anthropic's shapes:
a `message` object, or the named SSE events `message_start` ...
`message_stop`; errors as `{"type": "error", "error": {type, message}}`
with Anthropic's error types (mid-stream: an `error` event)."""

from __future__ import annotations

import uuid
from typing import Any

from .._redact import redact
from .._wire.anthropic_messages import error_to_wire, error_type, response_to_wire
from .._wire.anthropic_messages_request import parse_messages
from .._wire.anthropic_messages_stream import EventWriter, error_event
from .._wire.openai_chat import estimate_prompt_tokens
from .._wire.request_checks import parse_json
from ..types import GenerateResponse
from ._call import CallContext
from ._chat import ChatWire, StreamWriter, answer_chat
from ._errors import HTTPError
from ._http import Receive, Scope, Send, send_json


def error_body(error: HTTPError) -> dict[str, Any]:
    return error_to_wire(error.status, redact(error.message))


def _whole(response: GenerateResponse, model: str) -> dict[str, Any]:
    return response_to_wire(response, id=f"msg_{uuid.uuid4().hex[:24]}", model=model)


def _writer(model: str, include_usage: bool) -> StreamWriter:
    return EventWriter(id=f"msg_{uuid.uuid4().hex[:24]}", model=model)


ANTHROPIC_MESSAGES = ChatWire(
    parse=lambda body, cap: parse_messages(body, max_tokens_cap=cap),
    whole=_whole,
    writer=_writer,
    error_body=error_body,
    error_frame=lambda error: error_event(error_type(error.status), redact(error.message)),
)


async def messages(scope: Scope, receive: Receive, send: Send, ctx: CallContext) -> None:
    """Answer one Messages request (see `_chat.answer_chat`)."""
    await answer_chat(scope, receive, send, ctx, ANTHROPIC_MESSAGES)


async def count_tokens(scope: Scope, receive: Receive, send: Send, ctx: CallContext) -> None:
    """POST /v1/messages/count_tokens: the prompt's tokens, estimated (about
    four characters a token) — the gateway has no model's tokenizer."""
    raw = await ctx.read_body(scope, receive)
    body = parse_json(raw)
    if isinstance(body, dict) and "max_tokens" not in body:
        body = {**body, "max_tokens": 1}  # not part of a count request
    request = parse_messages(body)
    if not ctx.allowed(request.model):
        raise ctx.router.not_found(request.model, ctx.allowed)
    await send_json(send, 200, {"input_tokens": estimate_prompt_tokens(request.prompt())})
