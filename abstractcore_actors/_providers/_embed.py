"""The embedding protocol of the provider actor: `EmbedCall` (ask) → EmbeddingResponse.

The call runs under the same policies as a generation — the actor's
concurrency limit, breaker, retries and deadline (`ProviderActor.attempts`)
— and reports `EmbeddingStarted` / `EmbeddingCompleted`, or `ErrorOccurred`
/ `CallCancelled` with `source="embedding"`. An adapter that is not an
`Embedder` answers `UnsupportedOperation`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs
import trio

from ..errors import UnsupportedOperation, ValidationError
from ..events import EmbeddingCompleted, EmbeddingStarted
from ..types import EmbeddingRequest, EmbeddingResponse
from ._catalogue import PROVIDERS
from ._host import ProviderHost

# OpenAI's limit on inputs per request; larger batches are the caller's to split.
MAX_INPUTS = 2048


@attrs.frozen(kw_only=True)
class EmbedCall:
    """Ask for one vector per text."""

    request: EmbeddingRequest
    timeout: float | None = None


def build_embedding_request(
    texts: str | Sequence[str], *, dimensions: int | None = None
) -> EmbeddingRequest:
    """Check `llm.embed`'s arguments and build its request (raises ValidationError)."""
    items: Sequence[object] = (texts,) if isinstance(texts, str) else texts
    if isinstance(texts, bytes | bytearray) or not isinstance(items, Sequence):
        raise ValidationError(
            f"embed takes a string or a list of strings, not {type(texts).__name__}"
        )
    if not items:
        raise ValidationError("nothing to embed: pass a string or a non-empty list of strings")
    if len(items) > MAX_INPUTS:
        raise ValidationError(
            f"too many texts in one call ({len(items)}; at most {MAX_INPUTS}): "
            "split them into several embed calls"
        )
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValidationError(
                f"texts[{i}] is a {type(item).__name__}, not a string: "
                "embed takes a string or a list of strings"
            )
        if not item:
            raise ValidationError(f"texts[{i}] is empty: every text to embed needs some content")
    if dimensions is not None and (
        isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1
    ):
        raise ValidationError(f"dimensions must be a positive integer (got {dimensions!r})")
    return EmbeddingRequest(
        texts=tuple(items),  # type: ignore[arg-type]  # checked above: all str
        dimensions=dimensions,
        request_id=f"emb_{uuid.uuid4().hex[:16]}",
    )


def build_token_request(
    tokens: Sequence[object], *, dimensions: int | None = None
) -> EmbeddingRequest:
    """An embeddings request of token ids: one array of ints, or an array of
    them (OpenAI's `input` forms); raises ValidationError naming the item."""
    arrays: Sequence[object] = tokens if tokens and isinstance(tokens[0], list) else [tokens]
    if not arrays or len(arrays) > MAX_INPUTS:
        raise ValidationError(f"input needs 1 to {MAX_INPUTS} token arrays (got {len(arrays)})")
    checked: list[tuple[int, ...]] = []
    for i, ids in enumerate(arrays):
        if not isinstance(ids, list) or not ids:
            raise ValidationError(f"input[{i}] must be a non-empty array of token ids")
        for j, token in enumerate(ids):
            if isinstance(token, bool) or not isinstance(token, int) or token < 0:
                raise ValidationError(
                    f"input[{i}][{j}] must be a token id, an integer >= 0 (got {token!r})"
                )
        checked.append(tuple(ids))
    request = build_embedding_request("x", dimensions=dimensions)  # checks dimensions
    return attrs.evolve(request, texts=(), tokens=tuple(checked))


def _no_tokens(provider: str, model: str) -> UnsupportedOperation:
    # Token ids mean something only in the tokenizer that made them (LangChain
    # makes OpenAI's with tiktoken); another model would embed other words.
    return UnsupportedOperation(
        "input as token ids: only OpenAI's own API takes them, as they mean words only "
        "in the tokenizer that made them",
        provider=provider,
        model=model,
        advice="send the texts instead; with LangChain's OpenAIEmbeddings pass "
        "check_embedding_ctx_length=False, which sends the texts as they are",
    )


async def serve_embed(actor: ProviderHost, call: EmbedCall) -> EmbeddingResponse:
    """Answer one EmbedCall inside the provider actor."""
    request = call.request
    config = actor.config
    events = actor.emitter(request.request_id)
    await events.emit(EmbeddingStarted, inputs=len(request))
    start = trio.current_time()
    try:
        adapter = actor.embedder
        if adapter is None:
            raise UnsupportedOperation(
                "this provider has no embeddings API",
                provider=config.provider,
                model=config.model,
            )
        if request.tokens and PROVIDERS[config.provider].adapter != "openai":
            raise _no_tokens(config.provider, config.model)
        deadline = actor.deadline(call.timeout)
        batcher = actor.batcher
        if batcher is not None and batcher.takes(request):
            response = await batcher.embed(request, deadline)
        else:
            response = await actor.attempts(lambda: adapter.embed(request), deadline, events)
    except BaseException as exc:
        actor.report_failure(events, exc, source="embedding")
        raise
    response = attrs.evolve(
        response,
        provider=config.provider,
        model=response.model or config.model,
        request_id=request.request_id,
        duration=trio.current_time() - start,
        cost=actor.cost(response.usage),
    )
    await events.emit(
        EmbeddingCompleted,
        inputs=len(response.vectors),
        dimensions=response.dimensions,
        prompt_tokens=response.usage.prompt_tokens,
        duration=response.duration,
    )
    return response
