"""Fold a stream of chunks into one `GenerateResponse` (tool-call pieces joined)."""

from __future__ import annotations

from typing import final

from ..types import Chunk, GenerateResponse, TokenLogprob, ToolCall, Usage


@final
class Accumulator:
    """Feed chunks with `add`; `response()` is the answer so far (or in full)."""

    __slots__ = ("_calls", "_finish", "_logprobs", "_parts", "_usage", "pieces")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
        self._finish: str | None = None
        self._usage: Usage | None = None
        self._logprobs: list[TokenLogprob] = []
        self.pieces = 0  # chunks that carried text or tool-call pieces

    def add(self, chunk: Chunk) -> None:
        if chunk.text or chunk.tool_calls:
            self.pieces += 1
        if chunk.text:
            self._parts.append(chunk.text)
        for delta in chunk.tool_calls:
            slot = self._calls.setdefault(delta.index, ["", "", ""])
            if delta.id:
                slot[0] = delta.id
            if delta.name:
                slot[1] += delta.name
            slot[2] += delta.arguments
        if chunk.finish_reason is not None:
            self._finish = chunk.finish_reason
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.logprobs:
            self._logprobs.extend(chunk.logprobs)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def finished(self) -> bool:
        return self._finish is not None

    @property
    def has_usage(self) -> bool:
        return self._usage is not None

    @property
    def usage(self) -> Usage:
        return self._usage or Usage()

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall.from_raw(id=call_id or f"call_{index}", name=name, raw_arguments=args)
            for index, (call_id, name, args) in sorted(self._calls.items())
        )

    def response(self, *, model: str = "") -> GenerateResponse:
        return GenerateResponse(
            content=self.text,
            tool_calls=self.tool_calls(),
            finish_reason=self._finish,
            usage=self.usage,
            model=model,
            logprobs=tuple(self._logprobs),
        )
