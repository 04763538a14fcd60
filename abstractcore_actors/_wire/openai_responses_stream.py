"""The Responses API's event stream, as the gateway writes it from our Chunks.

In the order OpenAI sends them, each a named SSE event whose data carries
its `type` and a `sequence_number`: `response.created`,
`response.in_progress`; for text, `response.output_item.added` (a message),
`response.content_part.added`, `response.output_text.delta`s, then
`.output_text.done`, `.content_part.done`, `.output_item.done`; for each
tool call, `response.output_item.added` (a function_call),
`response.function_call_arguments.delta`s, `.function_call_arguments.done`,
`.output_item.done`; for each tool the gateway ran (between two steps'
text), an `mcp_call` item: `.output_item.added`, `response.mcp_call.in_progress`,
`response.mcp_call_arguments.delta` and `.done`, `response.mcp_call.completed`
(or `.failed`), `.output_item.done`; and `response.completed` with the
whole response.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs

from ..types import Chunk, Cost, ServerToolCall, ToolCall, Usage
from .openai_responses import call_item, mcp_call_item, message_item, response_object


@attrs.define
class _Item:
    kind: str  # "message" | "function_call" | "mcp_call"
    id: str
    index: int  # its place in `output`
    text: list[str] = attrs.field(factory=list)  # a message's text, a call's arguments
    call_id: str = ""
    name: str = ""
    done: bool = False
    ran: ServerToolCall | None = None  # an mcp_call's record


@attrs.define
class ResponsesWriter:
    """Our Chunks as the events of one Responses stream."""

    model: str
    id: str = attrs.field(factory=lambda: uuid.uuid4().hex[:24])
    created: int = 0
    cost: Cost | None = None  # known at the end (not part of the protocol)
    finish_reason: str | None = None
    usage: Usage | None = None
    _seq: int = 0
    _items: list[_Item] = attrs.field(factory=list)
    _open: _Item | None = None
    _calls: dict[int, _Item] = attrs.field(factory=dict)  # our tool-call index -> its item

    def _event(self, kind: str, **data: Any) -> bytes:
        payload = json.dumps({"type": kind, "sequence_number": self._seq, **data})
        self._seq += 1
        return f"event: {kind}\ndata: {payload}\n\n".encode()

    def _response(self, status: str) -> dict[str, Any]:
        started = status == "in_progress"
        output = [] if started else [self._item_object(item) for item in self._items]
        return response_object(
            f"resp_{self.id}",
            self.model,
            output,
            status=status,
            usage=None if started else (self.usage or Usage()),
            finish_reason=self.finish_reason,
            created=self.created or None,
        )

    def _item_object(self, item: _Item, status: str = "completed") -> dict[str, Any]:
        if item.kind == "message":
            return message_item(item.id, "".join(item.text), status)
        if item.ran is not None:
            return mcp_call_item(item.id, item.ran, status)
        call = ToolCall.from_raw(id=item.call_id, name=item.name, raw_arguments="".join(item.text))
        found = call_item(item.id, call, status)
        if status != "completed":
            found["arguments"] = ""
        return found

    def first(self) -> bytes:
        started = self._response("in_progress")
        return self._event("response.created", response=started) + self._event(
            "response.in_progress", response=started
        )

    def _close(self) -> bytes:
        item, self._open = self._open, None
        if item is None or item.done:
            return b""
        item.done = True
        if item.kind == "message":
            text = "".join(item.text)
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            where = {"item_id": item.id, "output_index": item.index, "content_index": 0}
            out = self._event("response.output_text.done", **where, text=text, logprobs=[])
            out += self._event("response.content_part.done", **where, part=part)
        else:
            out = self._event(
                "response.function_call_arguments.done",
                item_id=item.id,
                output_index=item.index,
                arguments="".join(item.text),
                name=item.name,
            )
        return out + self._event(
            "response.output_item.done", output_index=item.index, item=self._item_object(item)
        )

    def _begin(self, item: _Item) -> bytes:
        out = self._close()
        self._items.append(item)
        self._open = item
        out += self._event(
            "response.output_item.added",
            output_index=item.index,
            item=self._item_object(item, "in_progress"),
        )
        if item.kind == "message":
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            out += self._event(
                "response.content_part.added",
                item_id=item.id,
                output_index=item.index,
                content_index=0,
                part=part,
            )
        return out

    def add(self, chunk: Chunk) -> bytes:
        """The events for `chunk` (b"" when it carries nothing to send now)."""
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage
        out = b""
        if chunk.text:
            if self._open is None or self._open.kind != "message":
                index = len(self._items)
                out += self._begin(_Item("message", f"msg_{self.id}_{index}", index))
            assert self._open is not None
            self._open.text.append(chunk.text)
            out += self._event(
                "response.output_text.delta",
                item_id=self._open.id,
                output_index=self._open.index,
                content_index=0,
                delta=chunk.text,
                logprobs=[],
            )
        for ran in chunk.server_tool_calls:
            out += self._mcp_call(ran)
        for piece in chunk.tool_calls:
            item = self._calls.get(piece.index)
            if item is None:
                index = len(self._items)
                item = _Item(
                    "function_call",
                    f"fc_{self.id}_{index}",
                    index,
                    call_id=piece.id or f"call_{index}",
                    name=piece.name or "",
                )
                self._calls[piece.index] = item
                out += self._begin(item)
            if piece.arguments:
                item.text.append(piece.arguments)
                out += self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.id,
                    output_index=item.index,
                    delta=piece.arguments,
                )
        return out

    def _mcp_call(self, ran: ServerToolCall) -> bytes:
        """A tool the gateway ran, whole: it is reported once it has run."""
        index = len(self._items)
        item = _Item("mcp_call", f"mcp_{self.id}_{index}", index, ran=ran)
        out = self._begin(item)  # closes the step's message before it
        item.done, self._open = True, None
        where = {"item_id": item.id, "output_index": index}
        out += self._event("response.mcp_call.in_progress", **where)
        out += self._event("response.mcp_call_arguments.delta", **where, delta=ran.arguments)
        out += self._event("response.mcp_call_arguments.done", **where, arguments=ran.arguments)
        ended = (
            "response.mcp_call.failed" if ran.error is not None else "response.mcp_call.completed"
        )
        out += self._event(ended, **where)
        return out + self._event(
            "response.output_item.done", output_index=index, item=self._item_object(item)
        )

    def end(self) -> bytes:
        out = self._close()
        for item in self._items:  # interleaved calls: each is closed once
            if not item.done:
                self._open = item
                out += self._close()
        return out + self._event("response.completed", response=self._response("completed"))


def error_event(code: str, message: str) -> bytes:
    """An error after the stream began (`error` event, as OpenAI sends it)."""
    payload = json.dumps({"type": "error", "code": code, "message": message, "param": None})
    return f"event: error\ndata: {payload}\n\n".encode()
