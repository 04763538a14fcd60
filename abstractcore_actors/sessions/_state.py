"""A session's state — history with a status per entry — and its JSON file format.

The state lives outside the session actor's behaviour on purpose: when the
supervisor restarts a crashed session actor, the fresh behaviour takes the
same state, so the conversation survives the crash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from ..errors import ValidationError
from ..types import Image, Message, ToolCall

FORMAT = "abstractcore-actors/session"
VERSION = 1

Status = Literal["complete", "interrupted", "cancelled", "injected"]
_STATUSES = ("complete", "interrupted", "cancelled", "injected")


@attrs.frozen(kw_only=True, slots=True)
class Entry:
    """One message of the history and how it came to be there.

    - "complete": an ordinary turn message;
    - "interrupted": a partial answer stopped to take injected context;
    - "cancelled": a partial answer (or a tool result) of a cancelled turn;
    - "injected": context injected into a turn.
    """

    message: Message
    status: Status = attrs.field(default="complete", validator=attrs.validators.in_(_STATUSES))


@attrs.define(eq=False)
class SessionState:
    """What a session knows. Mutated only by its session actor."""

    session_id: str
    system_prompt: str | None = None
    entries: list[Entry] = attrs.field(factory=list)
    # Injected context waiting for the next safe point of a turn, in order.
    pending: list[Message] = attrs.field(factory=list)

    def messages(self) -> tuple[Message, ...]:
        """What the model is sent: the system prompt, then the history."""
        head = (Message.system(self.system_prompt),) if self.system_prompt else ()
        return head + tuple(entry.message for entry in self.entries)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "session_id": self.session_id,
                "system_prompt": self.system_prompt,
                "entries": [_entry_to_dict(entry) for entry in self.entries],
                "pending": [_message_to_dict(m) for m in self.pending],
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "session file") -> SessionState:
        """Parse a saved session; raises ValidationError saying what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{source} is not JSON ({exc}); was it written by save()?"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValidationError(f"{source} is not a saved session (no format {FORMAT!r})")
        version = data.get("version")
        if version != VERSION:
            raise ValidationError(
                f"{source} has session format version {version!r}; this version of "
                f"abstractcore-actors reads version {VERSION}: upgrade the package"
            )
        try:
            return cls(
                session_id=str(data["session_id"]),
                system_prompt=data.get("system_prompt"),
                entries=[_entry_from_dict(e) for e in data.get("entries", [])],
                pending=[_message_from_dict(m) for m in data.get("pending", [])],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"{source} is damaged: {exc!r}") from None


def _message_to_dict(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [
            {
                "id": call.id,
                "name": call.name,
                "arguments": dict(call.arguments),
                "raw_arguments": call.raw_arguments,
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        data["name"] = message.name
    if message.images:
        data["images"] = [{"url": i.url, "detail": i.detail} for i in message.images]
    return data


def _message_from_dict(data: Mapping[str, Any]) -> Message:
    calls: Sequence[Mapping[str, Any]] = data.get("tool_calls", ())
    return Message(
        role=data["role"],
        content=str(data.get("content", "")),
        tool_calls=tuple(
            ToolCall(
                id=str(c["id"]),
                name=str(c["name"]),
                arguments=dict(c.get("arguments", {})),
                raw_arguments=str(c.get("raw_arguments", "")),
            )
            for c in calls
        ),
        tool_call_id=data.get("tool_call_id"),
        images=tuple(Image(str(i["url"]), i.get("detail")) for i in data.get("images", ())),
        name=data.get("name"),
    )


def _entry_to_dict(entry: Entry) -> dict[str, Any]:
    return {**_message_to_dict(entry.message), "status": entry.status}


def _entry_from_dict(data: Mapping[str, Any]) -> Entry:
    return Entry(message=_message_from_dict(data), status=data.get("status", "complete"))
