"""A caller's mistake is the caller's error: raised at once, before any request.

Each case would once have travelled to the provider and come back (after
retries) as the server's fault; now the fake server must see nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
import trio

from abstractcore_actors import LLM, UnknownOption, ValidationError
from abstractcore_actors.testing import FakeOpenAIServer, Reply


@attrs.define
class Person:
    name: str


LONE_SURROGATE = "hi \ud800 there"

MISTAKES: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"response_model": Person}, UnknownOption, r"generate_structured\(llm, prompt"),
    ({"max_token": 5}, UnknownOption, r"did you mean max_tokens=\?"),
    ({"temprature": 0.1}, UnknownOption, r"did you mean temperature=\?"),
    ({"api_key": "sk-x"}, UnknownOption, r"create_llm\(provider, model, api_key="),
    ({"stream": True}, UnknownOption, r"llm\.stream"),
    ({"bogus_field": 1}, UnknownOption, r"extra_body=\{'bogus_field'"),
    ({"logit_bias": {"1": object()}}, UnknownOption, r"logit_bias= cannot be sent"),
    ({"presence_penalty": float("nan")}, UnknownOption, r"presence_penalty= cannot be sent"),
    ({"extra_body": {"x": {1, 2}}}, UnknownOption, r"x= cannot be sent"),
    ({"extra_body": "x=1"}, UnknownOption, r"extra_body must be a dict"),
    ({"max_tokens": "5"}, ValidationError, r"max_tokens must be an integer from 1"),
    ({"temperature": "hot"}, ValidationError, r"temperature must be a number"),
    ({"top_p": float("nan")}, ValidationError, r"top_p must be a number"),
    ({"seed": 1.5}, ValidationError, r"seed must be a 64-bit integer"),
    ({"stop": ["\udfff"]}, ValidationError, r"stop\[0\] holds text that cannot be sent"),
    ({"metadata": {"k": "\ud800"}}, ValidationError, r"metadata holds text .* U\+D800"),
    (
        {"system_prompt": "be \udc80 brief"},
        ValidationError,
        r"messages\[0\]\.content holds text that cannot be sent: U\+DC80 at index 3",
    ),
    (
        {"messages": [{"role": "user", "content": 5}]},
        ValidationError,
        r"message content must be text; got int",
    ),
]


@pytest.mark.parametrize(("options", "error", "match"), MISTAKES)
@pytest.mark.parametrize("streaming", [False, True], ids=["generate", "stream"])
async def test_a_local_mistake_is_raised_before_any_request(
    make_openai_llm: Callable[..., LLM],
    openai_server: FakeOpenAIServer,
    options: dict[str, Any],
    error: type[Exception],
    match: str,
    streaming: bool,
) -> None:
    llm = make_openai_llm()
    prompt = None if "messages" in options else "Hi"
    with trio.fail_after(5), pytest.raises(error, match=match):
        if streaming:
            async with llm.stream(prompt, **options):
                pass
        else:
            await llm.generate(prompt, **options)
    assert openai_server.requests == []


async def test_a_lone_surrogate_in_the_prompt_is_a_validation_error(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_openai_llm()
    with pytest.raises(ValidationError, match=r"messages\[0\]\.content .* U\+D800 at index 3"):
        await llm.generate(LONE_SURROGATE)
    assert openai_server.requests == []
    openai_server.push(Reply(text="fine"))
    assert (await llm.generate("hi é ☃ 😀")).content == "fine"  # real non-ASCII text goes


def test_an_unknown_option_is_also_a_type_error() -> None:
    # Code that catches TypeError for a bad keyword (as Python raises) still works.
    assert issubclass(UnknownOption, TypeError)
    assert issubclass(UnknownOption, ValidationError)


async def test_known_vendor_options_and_extra_body_reach_the_body(
    make_openai_llm: Callable[..., LLM], openai_server: FakeOpenAIServer
) -> None:
    llm = make_openai_llm()
    openai_server.push(Reply(text="ok"))
    await llm.generate(
        "Hi", presence_penalty=0.5, user="u1", extra_body={"my_server_flag": [1, "é"]}
    )
    (request,) = openai_server.requests
    assert isinstance(request.json, dict)
    assert request.json["presence_penalty"] == 0.5
    assert request.json["user"] == "u1"
    assert request.json["my_server_flag"] == [1, "é"]
    assert "extra_body" not in request.json
