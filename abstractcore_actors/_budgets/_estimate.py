"""A call's worst case, for its reservation: the most it can spend.

Prompt tokens are bounded by the prompt's UTF-8 bytes (a byte-level BPE
token covers at least one byte), plus a few tokens per message for the
chat template, plus the tool schemas' bytes, plus a bound per image;
answer tokens by max_tokens.
Priced at each model's rate for that many prompt tokens (its long-context
tier if the bound reaches it). Generous on purpose: a reservation that
covers the worst case is what keeps concurrent calls from overspending.
"""

from __future__ import annotations

import json

from .._pricing import ModelFacts
from ..types import Request
from ._spec import Spend

_PER_MESSAGE = 8  # role markers and separators of a chat template
# An image's tokens do not follow its bytes: providers scale it down first.
# The dearest per image today is about 1,600 (Anthropic at its 1.15 MP cap;
# OpenAI's high detail at most ~1,450): bounded generously.
_PER_IMAGE = 2_000


def prompt_ceiling(request: Request) -> int:
    total = 0
    for message in request.messages:
        total += len(message.content.encode()) + _PER_MESSAGE
        total += len(message.images) * _PER_IMAGE
        for call in message.tool_calls:
            total += len(call.raw_arguments.encode()) + len(call.name) + _PER_MESSAGE
    for spec in request.tools:
        total += len(json.dumps(spec.parameters).encode()) + len(spec.name) + len(spec.description)
    return total


def worst_case(facts: ModelFacts, prompt_tokens: int, answer_tokens: int) -> Spend:
    """The most one model can charge for a call of at most these many prompt
    and answer tokens (its long-context tier, when the prompt reaches it)."""
    tokens = prompt_tokens + answer_tokens
    if facts.price is None:
        return Spend(0, tokens, priced=False)
    input_rate, _, output_rate = facts.price.rates(prompt_tokens)
    nano = (prompt_tokens * input_rate + answer_tokens * output_rate) * 1000
    return Spend(int(nano) + 1, tokens)
