"""Spend in the gateway: each chat call holds its worst case against its
key's, user's and team's budgets and rate limits before it starts, and
settles what it really spent when it ends — however it ends — with a row
in the ledger. `GET /v1/spend` reports the ledger (admin keys).

Whom a call counts for: its key (by name), the key's team, and its user —
OpenAI's `user` field, else the `x-abstractcore-user` header.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any
from urllib.parse import parse_qsl

import attrs
import trio

from .._budgets import CallRecord, Hold, Spend, Spending, Who, prompt_ceiling, worst_case
from .._wire.openai_chat_request import ChatRequest
from ..types import EmbeddingRequest
from ._call import CallContext
from ._errors import HTTPError
from ._http import Message, Scope, Send, header
from ._response_format import ATTEMPTS
from ._routing import Router
from ._virtual import is_virtual, parse_virtual

# max_tokens of a budgeted call that sets none: a worst case needs a bound
BUDGET_ANSWER_TOKENS = 4096


def header_user(scope: Scope) -> str | None:
    raw = header(scope, b"x-abstractcore-user")
    return (raw.decode("latin-1").strip() or None) if raw is not None else None


def who_of(scope: Scope, ctx: CallContext, user: str | None) -> Who:
    """Whom the call counts for: its key, the key's team, and its user (the
    body's `user`, else the x-abstractcore-user header)."""
    key = ctx.key
    return Who(
        key=key.name if key else None,
        user=user or header_user(scope),
        team=key.team if key else None,
    )


def _ceiling(router: Router, name: str, prompt: int, answer: int) -> Spend:
    """The most a call to `name` of at most `prompt` + `answer` tokens can
    spend: a model's worst case; a router's dearest deployment (it falls
    back, one at a time); a virtual model's members (and judge) together,
    as they may all run."""
    config = router.config
    public = config.aliases.get(name, name)
    if is_virtual(public):
        spec = parse_virtual(public)
        names = [*spec.members, *([spec.judge] if spec.judge else [])]
        total = Spend()
        for member in names:
            total += _ceiling(router, member, prompt, answer)
        return total
    if public in config.routers:
        deployments = router.deployments_of(public)
        options = [worst_case(llm.facts, prompt, answer) for llm in deployments]
        dearest = max(options, key=lambda s: (s.nano_usd, s.tokens))
        return Spend(dearest.nano_usd, dearest.tokens, all(s.priced for s in options))
    return worst_case(router.llm(name).facts, prompt, answer)


@attrs.frozen
class _Call:
    """What the spend of one call needs to know of it."""

    model: str
    request_id: str
    who: Who


def spending_chat(
    scope: Scope, ctx: CallContext, request: ChatRequest, send: Send
) -> AbstractAsyncContextManager[tuple[ChatRequest, Send]]:
    """`spending_call` for a chat request: its worst case is its models'
    (see `_ceiling`), and its max_tokens is bounded when a budget or a token
    limit counts it. Yields the request to answer and the `send` to use."""
    spending = ctx.spending
    if spending is None:
        return nullcontext((request, send))
    who = who_of(scope, ctx, request.user)
    if not _counted(spending, ctx, who):
        # an async generator costs trio's hooks on every request: not for nothing
        return nullcontext((request, send))
    return _spending_chat(ctx, spending, who, request, send)


@asynccontextmanager
async def _spending_chat(
    ctx: CallContext, spending: Spending, who: Who, request: ChatRequest, send: Send
) -> AsyncIterator[tuple[ChatRequest, Send]]:
    if _bounded(spending, ctx, who) and request.args.get("max_tokens") is None:
        request = _with_max_tokens(request, BUDGET_ANSWER_TOKENS)
    args = request.args

    def ceiling() -> Spend:
        answer = int(args.get("max_tokens") or BUDGET_ANSWER_TOKENS)
        prompt = prompt_ceiling(request.prompt())  # once, however many models may answer
        want = _ceiling(ctx.router, request.model, prompt, answer)
        if request.response_format is not None:
            want = Spend(want.nano_usd * ATTEMPTS, want.tokens * ATTEMPTS, want.priced)
        if request.mcp:  # the gateway's tool loop: up to max_tool_steps model calls
            steps = ctx.config.max_tool_steps
            want = Spend(want.nano_usd * steps, want.tokens * steps, want.priced)
        return want

    call = _Call(model=request.model, request_id=str(args.get("request_id", "")), who=who)
    async with spending_call(ctx, spending, call, ceiling, send) as settling:
        yield request, settling


def spending_embeddings(
    scope: Scope, ctx: CallContext, model: str, request: EmbeddingRequest, send: Send
) -> AbstractAsyncContextManager[Send]:
    """`spending_call` for an embeddings request: at most one token per byte
    of its texts (or its token ids, counted), at the model's input price."""
    spending = ctx.spending
    if spending is None:
        return nullcontext(send)
    who = who_of(scope, ctx, header_user(scope))
    if not _counted(spending, ctx, who):
        return nullcontext(send)
    return _spending_embeddings(ctx, spending, who, model, request, send)


@asynccontextmanager
async def _spending_embeddings(
    ctx: CallContext,
    spending: Spending,
    who: Who,
    model: str,
    request: EmbeddingRequest,
    send: Send,
) -> AsyncIterator[Send]:

    def ceiling() -> Spend:
        tokens = sum(len(ids) for ids in request.tokens) or sum(
            len(text.encode()) for text in request.texts
        )
        return worst_case(ctx.router.llm(model).facts, tokens, 0)  # input only

    call = _Call(model=model, request_id=request.request_id, who=who)
    async with spending_call(ctx, spending, call, ceiling, send) as settling:
        yield settling


def _bounded(spending: Spending, ctx: CallContext, who: Who) -> bool:
    return spending.counts(who) or (ctx.key is not None and ctx.key.tpm is not None)


def _counted(spending: Spending, ctx: CallContext, who: Who) -> bool:
    """Whether `spending_call` has anything to do for the call: hold a budget
    or a rate, or write a ledger row."""
    rpm = ctx.key.rpm if ctx.key is not None else None
    return spending.ledger is not None or rpm is not None or _bounded(spending, ctx, who)


@asynccontextmanager
async def spending_call(
    ctx: CallContext,
    spending: Spending,
    call: _Call,
    ceiling: Callable[[], Spend],
    send: Send,
) -> AsyncIterator[Send]:
    """Hold the call's worst case (`ceiling()`) for the block, raising
    BudgetExceeded, RateLimitExceeded or BudgetStoreUnavailable before
    anything runs; then settle what it spent.

    Yields the `send` to answer with: it settles — the ledger row committed
    — just before the response's last bytes go, so a client that has its
    whole answer has a settled call, even if the gateway is killed the next
    moment. However else the call ends (an error, a disconnect, a cancel),
    it settles on the way out."""
    key = ctx.key
    rpm, tpm = (key.rpm, key.tpm) if key is not None else (None, None)
    held = Hold()
    if _bounded(spending, ctx, call.who) or rpm is not None:
        held = await spending.hold(call.who, ceiling(), rpm, tpm)
    if held.reservation is None and held.ticket is None and spending.ledger is None:
        yield send  # nothing to count
        return
    started, wall = trio.current_time(), time.time()
    done = False

    async def settle() -> None:
        nonlocal done
        if done:
            return
        done = True
        actual, row = _spent(ctx, call, wall, trio.current_time() - started)
        await spending.settle(held, actual, row if spending.ledger is not None else None)

    async def settling(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body"):
            await settle()
        await send(message)

    try:
        yield settling
    finally:
        await settle()


def _spent(ctx: CallContext, call: _Call, wall: float, latency: float) -> tuple[Spend, CallRecord]:
    """What the call spent (its cost; 0 when it failed before answering) and its ledger row."""
    record = ctx.record
    cost, usage = record.cost, record.usage
    if cost is not None:
        actual = Spend(cost.nano_usd, cost.tokens, cost.known)
    else:
        actual = Spend(0, usage.total_tokens if usage else 0)
    who = call.who
    row = CallRecord(
        ts=wall,
        request_id=call.request_id,
        key=who.key,
        user=who.user,
        team=who.team,
        model=call.model,
        provider=record.provider,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        tokens=actual.tokens,
        cost_nano_usd=cost.nano_usd if cost is not None and cost.known else None,
        outcome=record.outcome,
        latency=latency,
    )
    return actual, row


def _with_max_tokens(request: ChatRequest, tokens: int) -> ChatRequest:
    return attrs.evolve(request, args={**request.args, "max_tokens": tokens})


_GROUPS = {"key": "key", "user": "user", "team": "team", "model": "model", "day": "day"}


async def spend_report(spending: Spending | None, query_string: bytes) -> Mapping[str, Any]:
    """GET /v1/spend?by=key|user|team|model|day[&since=EPOCH]: totals from the ledger."""
    if spending is None or spending.ledger is None:
        raise HTTPError(
            404,
            'no spend ledger is configured: set [server] ledger = "spend.db"',
            code="no_ledger",
        )
    params = dict(parse_qsl(query_string.decode("latin-1")))
    by = params.get("by", "key")
    if by not in _GROUPS:
        listed = ", ".join(_GROUPS)
        raise HTTPError(400, f"by must be one of {listed}", code="invalid_by", param="by")
    try:
        since = float(params.get("since", 0))
    except ValueError:
        raise HTTPError(400, "since must be seconds since the epoch", param="since") from None
    rows = await spending.ledger.report(by, since)
    return {"object": "list", "by": by, "since": since, "data": rows}
