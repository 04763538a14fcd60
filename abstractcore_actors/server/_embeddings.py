"""POST /v1/embeddings: OpenAI's embeddings endpoint over `LLM.embed`.

The body follows OpenAI's API reference: `model`, `input` (a string or an
array of strings; or token ids — one array of integers, or an array of them
— which only an `openai` upstream is sent, as ids mean words only in the
tokenizer that made them; any other model answers 400 saying so), `encoding_format` ("float", the
default, or "base64": little-endian float32, which the openai SDK asks for
and decodes), `dimensions`, and `user` (ignored). The answer is a `list`
object of `embedding`s with `usage`. Model names route as for chat, but a
virtual model (race:, ensemble:, hedge:) is a 400: vectors of different
models cannot be raced or voted on.
"""

from __future__ import annotations

from typing import Any

import attrs

from .._providers import build_embedding_request, build_token_request
from .._wire.openai_embeddings import ENCODINGS, response_to_wire
from .._wire.request_checks import parse_json
from ..errors import UnsupportedOperation, ValidationError
from ..types import EmbeddingRequest
from ._call import CallContext, cut, failure, to_http
from ._config import GatewayConfig
from ._errors import HTTPError, bad_request
from ._http import Receive, Scope, Send, send_error, send_json, until_disconnect
from ._request_id import client_request_id, with_request_id
from ._spend import spending_embeddings


@attrs.frozen(kw_only=True)
class EmbeddingsCall:
    """A valid embeddings request: the public model name, the request, the format."""

    model: str
    request: EmbeddingRequest
    encoding: str


def _token_arrays(value: object) -> bool:
    """Whether `input` is token ids: an array of integers, or of arrays of them."""
    if not isinstance(value, list) or not value:
        return False
    first = value[0]
    if isinstance(first, list):
        return True
    return isinstance(first, int) and not isinstance(first, bool)


def parse_embeddings(body: object) -> EmbeddingsCall:
    """Check an embeddings body field by field; HTTPError 400 naming the field."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("model is required: the name of an embedding model", param="model")
    if "input" not in body:
        raise bad_request("input is required: a string or an array of strings", param="input")
    texts = body["input"]
    dimensions = body.get("dimensions")
    encoding = body.get("encoding_format") or "float"
    tokens = _token_arrays(texts)
    if not tokens and not isinstance(texts, str | list):
        raise bad_request(
            f"input must be a string or an array of strings (got {type(texts).__name__})",
            param="input",
        )
    build = build_token_request if tokens else build_embedding_request
    try:
        request = build(texts, dimensions=dimensions)
    except ValidationError as exc:
        param = "dimensions" if str(exc).startswith("dimensions") else "input"
        raise bad_request(str(exc), param=param) from None
    return _call(model, request, encoding)


def _call(model: str, request: EmbeddingRequest, encoding: object) -> EmbeddingsCall:
    if encoding not in ENCODINGS:
        raise bad_request(
            f"encoding_format must be 'float' or 'base64' (got {encoding!r})",
            param="encoding_format",
        )
    return EmbeddingsCall(model=model, request=request, encoding=str(encoding))


def _no_virtual(name: str, config: GatewayConfig) -> None:
    if config.is_virtual_name(name):
        kind = config.aliases.get(name, name).partition(":")[0]
        raise bad_request(
            f"virtual model {name!r} cannot embed: {kind} combines chat answers, and vectors "
            "of different models do not mix. Name one embedding model",
            param="model",
        )


def _http_error(exc: BaseException) -> HTTPError:
    if isinstance(exc, UnsupportedOperation):
        return HTTPError(400, str(exc), code="unsupported_operation", param="model")
    return to_http(exc)


async def embeddings(scope: Scope, receive: Receive, send: Send, ctx: CallContext) -> None:
    """Answer one embeddings request. Raises HTTPError (or ClientGone) before
    anything is sent; a client that disconnects cancels the upstream call.
    As for chat: a model the key may not use is a 404, past the shutdown grace
    the call is cancelled and answered 503, the request id is the client's
    `X-Request-Id` (or a fresh one, echoed) and the call is the key's own on
    /v1/events; `ctx.record` is what /metrics counts of it."""
    config, record = ctx.config, ctx.record
    request_id = client_request_id(scope)
    send = with_request_id(send, request_id)
    raw = await ctx.read_body(scope, receive)
    call = parse_embeddings(parse_json(raw))
    if not ctx.allowed(call.model):  # before saying what the name is
        raise ctx.router.not_found(call.model, ctx.allowed)
    _no_virtual(call.model, config)
    llm = ctx.router.llm(call.model, ctx.allowed)
    record.model = ctx.labels(call.model)
    record.provider = ctx.router.provider_of(call.model)
    request = attrs.evolve(call.request, request_id=request_id)

    async with spending_embeddings(scope, ctx, call.model, request, send) as send:
        with ctx.requests.hold(request_id, ctx.owner, call.model, send) as sending:

            async def handler() -> None:
                response = None
                try:
                    with ctx.drain.scope() as drained:
                        response = await llm.embed_request(request, timeout=config.request_timeout)
                except Exception as exc:
                    await send_error(sending, failure(exc, record, _http_error))
                    return
                if response is None:
                    assert drained.cancelled_caught  # the shutdown grace ran out
                    await send_error(sending, cut(record))
                    return
                record.usage = response.usage
                record.cost = response.cost
                answer: dict[str, Any] = response_to_wire(
                    response, model=call.model, encoding=call.encoding
                )
                await send_json(sending, 200, answer)

            if await until_disconnect(scope, receive, handler) and not record.sent:
                record.outcome = "client_disconnect"
