"""The OpenAI chat-completions wire format, both ways, as plain dicts.

One codec for every side that speaks it: the adapters encode requests and
decode answers, the gateway decodes requests (`openai_chat_request`) and
encodes answers, the fake server encodes answers. Independent of the
openai SDK's types, so any peer that speaks the documented protocol works,
including ones that omit optional fields. Streams: `openai_chat_stream`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import (
    Cost,
    GenerateResponse,
    Image,
    Message,
    Request,
    TokenLogprob,
    ToolCall,
    Usage,
)


def tool_calls_to_wire(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """An assistant's tool calls, as a message's (or a choice's) `tool_calls`."""
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {
                "name": call.name,
                "arguments": call.raw_arguments or json.dumps(dict(call.arguments)),
            },
        }
        for call in calls
    ]


def image_to_wire(image: Image) -> dict[str, Any]:
    """An image as an OpenAI `image_url` content part."""
    inner = {"url": image.url}
    if image.detail is not None:
        inner["detail"] = image.detail
    return {"type": "image_url", "image_url": inner}


def message_to_wire(message: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        text = [{"type": "text", "text": message.content}] if message.content else []
        wire["content"] = [*text, *(image_to_wire(image) for image in message.images)]
    if message.tool_calls:
        wire["tool_calls"] = tool_calls_to_wire(message.tool_calls)
        if not message.content:
            wire["content"] = None
    if message.role == "tool":
        wire["tool_call_id"] = message.tool_call_id
        if message.name:
            wire["name"] = message.name
    return wire


def request_body(request: Request, model: str, *, stream: bool) -> dict[str, Any]:
    """The JSON body of POST /chat/completions."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [message_to_wire(m) for m in request.messages],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": dict(t.parameters),
                },
            }
            for t in request.tools
        ]
        if request.tool_choice in ("auto", "none", "required"):
            body["tool_choice"] = request.tool_choice
        elif request.tool_choice:  # a tool's name: OpenAI's wire form forces it
            body["tool_choice"] = {
                "type": "function",
                "function": {"name": request.tool_choice},
            }
    for key in ("temperature", "max_tokens", "top_p", "seed"):
        value = getattr(request, key)
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop"] = list(request.stop)
    body.update(request.extra)
    return body


def usage_from_wire(usage: object) -> Usage | None:
    if not isinstance(usage, Mapping):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cached_prompt_tokens=int(cached or 0),
    )


def logprobs_from_wire(choice: Mapping[str, Any]) -> tuple[TokenLogprob, ...]:
    """A choice's `logprobs.content` (OpenAI's shape) -> TokenLogprobs; () when absent."""
    content = (choice.get("logprobs") or {}).get("content") or ()
    return tuple(
        TokenLogprob(
            token=str(item["token"]),
            logprob=float(item["logprob"]),
            top=tuple(
                (str(alt["token"]), float(alt["logprob"])) for alt in item.get("top_logprobs") or ()
            ),
        )
        for item in content
    )


def response_from_wire(data: Mapping[str, Any]) -> GenerateResponse:
    """A `chat.completion` object -> GenerateResponse (KeyError etc. when malformed)."""
    choice = data["choices"][0]
    message = choice["message"]
    calls = tuple(
        ToolCall.from_raw(
            id=tc.get("id") or f"call_{i}",
            name=tc["function"]["name"],
            raw_arguments=tc["function"].get("arguments") or "",
        )
        for i, tc in enumerate(message.get("tool_calls") or [])
    )
    return GenerateResponse(
        content=message.get("content") or "",
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        usage=usage_from_wire(data.get("usage")) or Usage(),
        model=str(data.get("model") or ""),
        logprobs=logprobs_from_wire(choice),
    )


def error_message(body: object) -> str:
    """The human message of an OpenAI-shaped error body, or the raw text."""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return str(body)[:500]


def error_code(body: object) -> str:
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            return str(err.get("code") or err.get("type") or "")
    return ""


CUT_SHORT = "the stream ended before [DONE] or a finish_reason"


def estimate_prompt_tokens(request: Request) -> int:
    """A rough prompt size (4 characters a token, 4 tokens a message) for
    servers that report no usage; only ever used as `Usage(estimated=True)`."""
    chars = sum(len(m.content) for m in request.messages)
    images = sum(len(m.images) for m in request.messages)
    # an image: OpenAI's high-detail 1024x1024 (765), about Anthropic's too
    return (chars + 3) // 4 + 4 * len(request.messages) + 765 * images


def usage_to_wire(usage: Usage, cost: Cost | None = None) -> dict[str, Any]:
    """OpenAI's usage object; `"estimated": true` (our extension field, which
    clients ignore) when some count is ours, not the upstream's — e.g. a
    llama.cpp stream, which carries no usage."""
    wire: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cached_prompt_tokens:
        wire["prompt_tokens_details"] = {"cached_tokens": usage.cached_prompt_tokens}
    if usage.estimated:
        wire["estimated"] = True
    if cost is not None:  # our extension too: USD, or null when a price is unknown
        wire["cost_usd"] = cost.usd
    return wire


def logprobs_to_wire(logprobs: tuple[TokenLogprob, ...]) -> dict[str, Any] | None:
    """TokenLogprobs -> a choice's `logprobs` object (None when there are none)."""
    if not logprobs:
        return None
    return {
        "content": [
            {
                "token": lp.token,
                "logprob": lp.logprob,
                "bytes": list(lp.token.encode("utf-8", "surrogatepass")),
                "top_logprobs": [
                    {
                        "token": token,
                        "logprob": value,
                        "bytes": list(token.encode("utf-8", "surrogatepass")),
                    }
                    for token, value in lp.top
                ],
            }
            for lp in logprobs
        ],
        "refusal": None,
    }


def response_to_wire(
    response: GenerateResponse, *, id: str, model: str, created: int
) -> dict[str, Any]:
    """A whole answer as a `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": response.content}
    if response.tool_calls:
        message["tool_calls"] = tool_calls_to_wire(response.tool_calls)
        message["content"] = response.content or None
    finish = response.finish_reason or ("tool_calls" if response.tool_calls else "stop")
    return {
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish,
                "logprobs": logprobs_to_wire(response.logprobs),
            }
        ],
        "usage": usage_to_wire(response.usage, response.cost),
        "system_fingerprint": None,
    }
