"""A session turn whose final answer must fit a response model.

The turn runs as any other (tools first, if the model calls them); every
model call of it carries the mode's parameters (OpenAI's json_schema
response_format, the schema in a system message, or Anthropic's forced
answer tool). When the final answer does not fit, the answer and its
problems are shown to the model and it answers again, inside the same turn,
up to `max_attempts` answers. Failed answers and their feedback are sent
to the model but never enter the history: the history keeps the user's
prompt, the tool rounds, and the one valid answer as JSON text, so the next
turn reads as a clean conversation. When no answer fits, the turn is rolled
back like a failed provider call and StructuredOutputError is raised.

Anthropic's tool mode forces one tool call, so it cannot leave the model
free to call the session's tools first: with tools offered, use
mode="prompted" (a typed error says so).
"""

from __future__ import annotations

from typing import Any

import attrs

from .._structured import (
    Mode,
    ResponseModel,
    StructuredAttempt,
    StructuredOutputError,
    StructuredResult,
    answer_text,
    attempt_request,
    feedback,
    json_text,
    judge,
)
from ..errors import ValidationError
from ..types import GenerateResponse, Message, Request


@attrs.frozen(kw_only=True)
class StructuredTurn:
    """What a turn's final answer must fit, how it is asked, and how often."""

    model: ResponseModel[Any]
    mode: Mode
    max_attempts: int


@attrs.define(eq=False)
class StructuredProgress:
    """The attempts of a structured turn so far (reset when the turn is revised)."""

    spec: StructuredTurn
    feedback: tuple[Message, ...] = ()
    attempts: list[StructuredAttempt] = attrs.field(factory=list)
    result: StructuredResult[Any] | None = None

    def shape(self, request: Request, *, tools_offered: bool) -> Request:
        """The model call with the mode's parameters and the feedback so far."""
        if tools_offered and self.spec.mode == "tool":
            raise ValidationError(
                "a structured turn in tool mode forces the answer tool, so the model could "
                "not call the session's tools: pass mode='prompted' (or 'json_schema' for "
                "an OpenAI-compatible model), or remove the tools for this turn"
            )
        shaped = attempt_request(request, self.spec.model, self.spec.mode, self.feedback)
        if tools_offered:  # keep the session's tools; attempt_request only adds in tool mode
            shaped = attrs.evolve(shaped, tools=request.tools, tool_choice=request.tool_choice)
        return shaped

    @property
    def answers_by_tool(self) -> bool:
        """In tool mode the answer comes as the forced tool call, not as tool work."""
        return self.spec.mode == "tool"

    def judge(self, answer: GenerateResponse) -> str | None:
        """Record the final answer: its JSON text when it fits (the turn ends), else
        None (feedback queued; the turn asks again). Raises StructuredOutputError
        when it was the last attempt allowed."""
        model = self.spec.model
        raw = answer_text(answer, model, self.spec.mode)
        value, problems = judge(model, raw, answer.finish_reason)
        self.attempts.append(
            StructuredAttempt(
                index=len(self.attempts),
                raw=raw,
                problems=tuple(problems),
                usage=answer.usage,
                cost=answer.cost,
            )
        )
        if not problems:
            self.result = StructuredResult(
                value=value,
                raw=json_text(raw),
                attempts=tuple(self.attempts),
                mode=self.spec.mode,
                response=answer,
            )
            return json_text(raw)
        if len(self.attempts) >= self.spec.max_attempts:
            raise StructuredOutputError(tuple(self.attempts), model.name)
        self.feedback = (*self.feedback, *feedback(raw, problems))
        return None

    def restart(self) -> None:
        """The turn was revised: its attempts so far no longer count."""
        self.feedback, self.attempts[:] = (), []
