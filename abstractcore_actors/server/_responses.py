"""POST /v1/responses: OpenAI's Responses API over every configured model,
router and virtual model, through the same flow as chat completions
(`_chat.answer_chat`): a `response` object, or its event stream. Errors in
OpenAI's shape (as chat completions); mid-stream, an `error` event."""

from __future__ import annotations

import uuid
from typing import Any

from .._redact import redact
from .._wire.openai_responses import parse_responses, response_to_wire
from .._wire.openai_responses_stream import ResponsesWriter, error_event
from ..types import GenerateResponse
from ._call import CallContext
from ._chat import ChatWire, StreamWriter, answer_chat
from ._errors import HTTPError
from ._http import Receive, Scope, Send


def _whole(response: GenerateResponse, model: str) -> dict[str, Any]:
    return response_to_wire(response, id=uuid.uuid4().hex[:24], model=model)


def _writer(model: str, include_usage: bool) -> StreamWriter:
    return ResponsesWriter(model=model)


def _error_frame(error: HTTPError) -> bytes:
    return error_event(error.code or error.type, redact(error.message))


OPENAI_RESPONSES = ChatWire(
    parse=lambda body, cap: parse_responses(body, max_tokens_cap=cap),
    whole=_whole,
    writer=_writer,
    error_body=lambda error: error.body(),
    error_frame=_error_frame,
)


async def responses(scope: Scope, receive: Receive, send: Send, ctx: CallContext) -> None:
    """Answer one Responses request (see `_chat.answer_chat`)."""
    await answer_chat(scope, receive, send, ctx, OPENAI_RESPONSES)
