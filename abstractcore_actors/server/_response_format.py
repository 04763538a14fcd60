"""`response_format` on /v1/chat/completions: JSON answers, natively or validated.

    {"type": "text"}                                   the default: nothing to do
    {"type": "json_object"}                            any JSON object
    {"type": "json_schema", "json_schema": {"name", "schema", "strict", "description"}}

How each model answers it:

- an `openai` upstream speaks the format natively: it is forwarded as it
  came, and the upstream's answer is returned as it is (strict mode is
  OpenAI's guarantee, not ours);
- every other model (Anthropic: a forced tool call; the local model: a
  JSON grammar from the schema; openai-compatible servers: the schema in a
  prompt) goes through
  `abstractcore_actors.structured`: the answer is validated and retried
  with the problems as feedback, at most `attempts` calls; the response's
  content is the JSON text and its usage sums every attempt. A `race:`
  virtual model races the attempts (the first valid answer wins);
  `ensemble:` and `hedge:` refuse response_format (a 400 says so).
- streaming through the validated path sends the answer once it is
  validated, as one content delta: a client never sees an attempt that is
  then thrown away and retried. Each attempt is still streamed upstream and
  stopped at its first invalid field. A model that never fits answers 502
  (`code: "response_format_not_met"`) before any byte of the stream.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import attrs

from .._providers import LLM, PROVIDERS
from .._structured import (
    ResponseModel,
    StructuredOutputError,
    StructuredResult,
    generate_structured,
    json_text,
    response_model,
    schema_problem,
    stream_structured,
)
from ..errors import ValidationError
from ..types import Chunk, GenerateResponse, Usage
from ._errors import HTTPError, bad_request, http_error
from ._routing import OneChunk, RaceTarget, SingleTarget, Target, tighter

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ATTEMPTS = 3  # calls per answer on the validated path: bounded, never a loop


@attrs.frozen(kw_only=True)
class ResponseFormat:
    """A checked `response_format`: its wire form and the response model it means."""

    wire: Mapping[str, Any]
    model: ResponseModel[Any]


def parse_response_format(value: object) -> ResponseFormat | None:
    """The request's response_format (None for absent or text); HTTPError 400 when bad."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("response_format must be an object", param="response_format")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        model = attrs.evolve(response_model({"type": "object"}), name="json_object")
        return ResponseFormat(wire=value, model=model)
    if kind != "json_schema":
        raise bad_request(
            f'response_format.type must be "text", "json_object" or "json_schema" (got {kind!r})',
            param="response_format.type",
        )
    spec = value.get("json_schema")
    where = "response_format.json_schema"
    if not isinstance(spec, dict):
        raise bad_request(f"{where} must be an object with a name and a schema", param=where)
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad_request(
            f"{where}.name must be 1 to 64 letters, digits, _ or - (got {name!r})",
            param=f"{where}.name",
        )
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise bad_request(f"{where}.strict must be a boolean", param=f"{where}.strict")
    description = spec.get("description")
    if description is not None and not isinstance(description, str):
        raise bad_request(f"{where}.description must be a string", param=f"{where}.description")
    schema = spec.get("schema", {"type": "object"})
    if not isinstance(schema, dict):
        raise bad_request(f"{where}.schema must be a JSON schema object", param=f"{where}.schema")
    _check_schema(schema, checkable=False)
    try:
        model = attrs.evolve(response_model(schema), name=name)
    except ValidationError as exc:
        raise bad_request(f"{where}.schema: {exc}", param=f"{where}.schema") from None
    return ResponseFormat(wire=value, model=model)


def _check_schema(schema: Mapping[str, Any], *, checkable: bool) -> None:
    """HTTPError 400 naming the keyword's path when the schema is malformed, or
    (`checkable`) has a keyword the validated path could not check."""
    problem = schema_problem(schema, checkable=checkable)
    if problem is None:
        return
    path, what = problem
    where = "response_format.json_schema.schema"
    hint = ""
    if checkable:
        hint = (
            ": this model's answers are validated by the gateway, so remove it, or ask "
            "an openai model (native structured output, which checks it upstream)"
        )
    raise bad_request(f"{where}.{path} {what}{hint}", param=where)


def _native(llm: LLM) -> bool:
    """Whether the upstream speaks OpenAI's response_format itself."""
    return llm.provider in PROVIDERS and PROVIDERS[llm.provider].adapter == "openai"


@attrs.frozen
class StructuredTarget:
    """A target whose answers must fit a response_format (see the module docstring)."""

    inner: Target
    format: ResponseFormat

    def _forward(self, args: Mapping[str, Any]) -> dict[str, Any] | None:
        """The arguments to forward natively, or None for the validated path."""
        if isinstance(self.inner, SingleTarget) and _native(self.inner.llm):
            # LLM.request passes unknown keyword arguments on the wire as they are.
            return {**args, "response_format": dict(self.format.wire)}
        if not isinstance(self.inner, SingleTarget | RaceTarget):
            raise bad_request(
                "response_format works with plain models and race: virtual models, "
                "not ensemble: or hedge:; ask one model, or race them",
                param="response_format",
            )
        if args.get("tools"):
            raise bad_request(
                "response_format with tools needs a model with native structured output "
                "(an openai upstream); run the tool calls first, then ask for the JSON",
                param="response_format",
            )
        _check_schema(self.format.model.schema, checkable=True)
        return None

    async def generate(self, args: Mapping[str, Any], timeout: float | None) -> GenerateResponse:
        forward = self._forward(args)
        if forward is not None:
            return await self.inner.generate(forward, timeout)
        llms: LLM | list[LLM] = (
            self.inner.llm if isinstance(self.inner, SingleTarget) else list(self.inner.llms)  # type: ignore[attr-defined]
        )
        try:
            result = await generate_structured(
                llms,
                response_model=self.format.model,
                max_attempts=ATTEMPTS,
                concurrent=isinstance(self.inner, RaceTarget),
                # a race's own ?timeout= may shorten the gateway's, as without a format
                timeout=tighter(getattr(self.inner, "timeout", None), timeout),
                **args,
            )
        except StructuredOutputError as exc:
            raise _not_met(exc) from None
        return _as_response(result)

    def stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AbstractAsyncContextManager[AsyncIterator[Chunk]]:
        forward = self._forward(args)
        if forward is not None:
            return self.inner.stream(forward, timeout)
        return self._validated_stream(args, timeout)

    @asynccontextmanager
    async def _validated_stream(
        self, args: Mapping[str, Any], timeout: float | None
    ) -> AsyncIterator[AsyncIterator[Chunk]]:
        if not isinstance(self.inner, SingleTarget):  # a race: whole answers
            yield OneChunk(await self.generate(args, timeout))
            return
        try:
            async with stream_structured(
                self.inner.llm,
                response_model=self.format.model,
                max_attempts=ATTEMPTS,
                timeout=timeout,
                **args,
            ) as partials:
                result = await partials.result()
        except StructuredOutputError as exc:
            raise _not_met(exc) from None
        yield OneChunk(_as_response(result))


def _as_response(result: StructuredResult[Any]) -> GenerateResponse:
    """The validated answer as a plain one: the JSON text, every attempt's usage."""
    spent = result.usage
    usage = Usage(prompt_tokens=spent.prompt_tokens, completion_tokens=spent.completion_tokens)
    base = result.response if result.response is not None else GenerateResponse(content="")
    return attrs.evolve(
        base,
        content=json_text(result.raw),
        tool_calls=(),
        finish_reason="stop",
        usage=usage,
        cost=result.cost,
    )


def _not_met(exc: StructuredOutputError) -> HTTPError:
    """A 502, unless every attempt failed the same way before answering (all
    timed out: a 504; all rate-limited: a 429), as a virtual model answers."""
    errors = [a.error for a in exc.attempts]
    if errors and all(e is not None for e in errors):
        answers = [http_error(e) for e in errors if e is not None]
        if len({(a.status, a.code) for a in answers}) == 1:
            return answers[-1]
    return HTTPError(
        502,
        f"the model's answer did not fit response_format: {exc}",
        type="upstream_error",
        code="response_format_not_met",
        param="response_format",
    )
