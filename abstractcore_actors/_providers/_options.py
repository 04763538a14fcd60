"""What a call may carry besides its named arguments, checked before any request.

A call's `**extra` keywords go into the provider's request body as they are
(`presence_penalty=0.5`, `response_format={...}`). A misspelt or misplaced
keyword would otherwise travel to the provider, which either ignores it
(`max_token=5`: an unbounded answer) or fails in a way that blames the
server (`response_model=Person`: a Python class in a JSON body). So a
keyword must be a known call argument, an option some provider's API is
documented to take, or sit inside `extra_body={...}` — the deliberate
pass-through for anything else. Keywords that belong to another call get an
error naming that call.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from .._call_rules import check_logprobs
from ..errors import UnknownOption, ValidationError

# The named arguments of `LLM.generate` / `stream` / `request` (for the hints).
CALL_ARGUMENTS = frozenset(
    {
        "messages",
        "system_prompt",
        "tools",
        "temperature",
        "max_tokens",
        "top_p",
        "stop",
        "seed",
        "tool_choice",
        "timeout",
        "session_id",
        "request_id",
    }
)

# Request fields that the providers' own documentation lists, sent as given.
VENDOR_OPTIONS = frozenset(
    {
        # OpenAI chat completions
        "audio",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "metadata",
        "modalities",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "service_tier",
        "store",
        "top_logprobs",
        "user",
        "verbosity",
        "web_search_options",
        # Anthropic Messages
        "container",
        "mcp_servers",
        "thinking",
        "top_k",
        # self-hosted servers: vLLM, llama.cpp, Ollama, TGI, LM Studio
        "cache_prompt",
        "chat_template_kwargs",
        "format",
        "grammar",
        "guided_choice",
        "guided_grammar",
        "guided_json",
        "guided_regex",
        "ignore_eos",
        "json_schema",
        "keep_alive",
        "min_p",
        "min_tokens",
        "mirostat",
        "mirostat_eta",
        "mirostat_tau",
        "n_probs",
        "options",
        "repeat_penalty",
        "repetition_penalty",
        "skip_special_tokens",
        "typical_p",
    }
)

# Keywords of other calls, and where they belong.
_STRUCTURED = "generate_structured(llm, prompt, response_model=...) or stream_structured(...)"
_OTHER_CALLS: Mapping[str, str] = {
    "response_model": _STRUCTURED,
    "output_type": _STRUCTURED,
    "max_validation_retries": _STRUCTURED,
    "stream": "llm.stream(...) (generate returns one complete answer)",
    "model": "rt.create_llm(provider, model): a handle is bound to its model",
    "dimensions": "llm.embed(texts, dimensions=...)",
    "input": "llm.embed(texts)",
    "max_iterations": "rt.session(llm, max_iterations=...)",
    "tool_timeout": "rt.session(llm, tool_timeout=...)",
    **{
        option: f"rt.create_llm(provider, model, {option}=...): it is a provider option"
        for option in (
            "api_key",
            "base_url",
            "connect_timeout",
            "read_timeout",
            "max_concurrent",
            "max_retries",
            "retry",
            "failure_threshold",
            "reset_after",
            "headers",
            "name",
            "n_ctx",
            "n_batch",
            "n_threads",
            "chat_format",
            "embedding_format",
            "embed_batching",
        )
    },
}


def check_extra(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The body fields a call's `**extra` adds (ValidationError for any mistake).

    `extra_body` is unpacked: its fields are sent without a name check.
    """
    if not extra:
        return {}
    fields: dict[str, Any] = {}
    for key, value in extra.items():
        if key == "extra_body":
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise UnknownOption(
                    f"extra_body must be a dict of request fields (got {type(value).__name__})"
                )
            fields.update(value)
        elif key in _OTHER_CALLS:
            raise UnknownOption(f"{key}= is not an option of this call: use {_OTHER_CALLS[key]}")
        elif key in VENDOR_OPTIONS:
            fields[key] = value
        else:
            close = difflib.get_close_matches(key, CALL_ARGUMENTS | VENDOR_OPTIONS, n=1)
            hint = f"did you mean {close[0]}=? " if close else ""
            raise UnknownOption(
                f"unknown option {key}=: {hint}To send a field this package does not know "
                f"to the provider, pass it in extra_body={{{key!r}: ...}}"
            )
    for key, value in fields.items():
        check_sendable(value, key)
    if "logprobs" in extra or "top_logprobs" in extra:
        check_logprobs(extra.get("logprobs"), extra.get("top_logprobs"))
    return fields


def check_sendable(value: Any, field: str) -> None:
    """`value` can travel in a JSON body: JSON types only, finite numbers, valid text."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except UnicodeEncodeError as exc:
        raise ValidationError(unencodable(field, exc)) from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise UnknownOption(
            f"{field}= cannot be sent in a JSON request body ({exc}): pass JSON values only "
            "(dict, list, str, int, finite float, bool, None)"
        ) from None


def check_text(text: object, field: str) -> None:
    """`text` is a str that UTF-8 can encode (a lone surrogate cannot be sent)."""
    if not isinstance(text, str):
        raise ValidationError(f"{field} must be a string (got {type(text).__name__})")
    if text.isascii():  # the common case, and far cheaper than encoding
        return
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise ValidationError(unencodable(field, exc)) from None


def unencodable(field: str, exc: UnicodeEncodeError) -> str:
    bad = exc.object[exc.start]
    return (
        f"{field} holds text that cannot be sent: U+{ord(bad):04X} at index {exc.start} is a "
        "lone surrogate, not a character (text decoded with errors='surrogateescape' or a "
        "JSON '\\ud800' escape?): remove it, or decode the input with errors='replace'"
    )
