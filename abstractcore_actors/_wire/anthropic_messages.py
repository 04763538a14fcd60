"""Anthropic's Messages API as plain data: our messages as its turns, and its
stream events folded into our chunks (the adapter, `_anthropic.py`, carries them)."""

from __future__ import annotations

from typing import Any

from ..types import Chunk, Message, ToolCallDelta, Usage

# Anthropic's stop reasons in OpenAI's vocabulary (the one our Chunk speaks);
# others (pause_turn, ...) pass through as they are.
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _blocks(message: Message) -> list[dict[str, Any]]:
    """One of our messages as Anthropic content blocks."""
    if message.role == "tool":
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id or "",
            "content": message.content,
        }
        if message.content.startswith("error: "):  # how Message.tool marks a failed tool
            block["is_error"] = True
        return [block]
    blocks: list[dict[str, Any]] = []
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": dict(call.arguments)}
        )
    return blocks


def messages_to_wire(messages: tuple[Message, ...]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system prompt, alternating user/assistant turns)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system") or None
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue  # Anthropic rejects an empty turn
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)  # Anthropic wants roles to alternate
        else:
            turns.append({"role": role, "content": blocks})
    return system, turns


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _count(value: object) -> int:
    # `None` is allowed: Anthropic leaves some counters out of some events.
    if value is None:
        return 0
    if not isinstance(value, int):
        raise TypeError(f"expected a token count, got {type(value).__name__}")
    return value


class Fold:
    """The state of one stream: SDK events in, our chunks out.

    The SDK builds events without validating them, so a malformed event
    (a missing field, a wrong type) shows up here as AttributeError or
    TypeError, which the caller turns into InvalidResponse."""

    def __init__(self) -> None:
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.stop_reason: str | None = None
        self.finished = False
        self._tools: dict[int, int] = {}  # content block index -> our tool-call index

    def _tool(self, block_index: int) -> int:
        # Tool calls are numbered from 0 among tool blocks only: a text block
        # before them must not shift the index the Accumulator sees.
        return self._tools.setdefault(block_index, len(self._tools))

    def chunk(self, event: Any) -> Chunk | None:
        """Our chunk for one event, or None when it carries nothing for the caller."""
        match event.type:
            case "message_start":
                usage = event.message.usage
                self.prompt_tokens = _count(usage.input_tokens)
                self.output_tokens = _count(usage.output_tokens)
            case "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    delta = ToolCallDelta(
                        index=self._tool(event.index), id=_str(block.id), name=_str(block.name)
                    )
                    return Chunk(tool_calls=(delta,))
                if block.type == "text" and block.text:
                    return Chunk(text=_str(block.text))
            case "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    text = _str(delta.text)
                    return Chunk(text=text) if text else None
                if delta.type == "input_json_delta":
                    piece = ToolCallDelta(
                        index=self._tool(event.index), arguments=_str(delta.partial_json)
                    )
                    return Chunk(tool_calls=(piece,))
            case "message_delta":
                self.stop_reason = event.delta.stop_reason or self.stop_reason
                # Anthropic reports the cumulative output count here.
                self.output_tokens = _count(event.usage.output_tokens) or self.output_tokens
            case "message_stop":
                self.finished = True
                reason = self.stop_reason or "end_turn"
                return Chunk(
                    finish_reason=FINISH.get(reason, reason),
                    usage=Usage(
                        prompt_tokens=self.prompt_tokens, completion_tokens=self.output_tokens
                    ),
                )
        # ping, content_block_stop, thinking deltas, event types added later:
        # nothing for us (Anthropic asks clients to ignore what they do not know).
        return None
