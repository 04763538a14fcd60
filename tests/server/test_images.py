"""Images through the gateway, in each wire format's own shape, to an
OpenAI-wire upstream (the fake server records what it was sent): OpenAI
chat `image_url` parts, Anthropic `image` blocks (base64 and url), and
Responses `input_image` parts; and the 400s for what is not an image."""

from __future__ import annotations

import anthropic
import openai
import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.server import GatewayConfig
from abstractcore_actors.testing import FakeOpenAIServer

from .conftest import DEADLINE, KEY, sdk_client, serving

PNG = "iVBORw0KGgo="  # the PNG signature, in base64
DATA_URL = f"data:image/png;base64,{PNG}"
LINK = "https://example.com/cat.png"


def anthropic_sdk(port: int) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=f"http://127.0.0.1:{port}", api_key=KEY, max_retries=0, timeout=DEADLINE
    )


def sent_content(upstream: FakeOpenAIServer) -> object:
    return upstream.requests[-1].json["messages"][-1]["content"]


async def test_chat_image_parts_reach_the_upstream_as_sent(
    rt: Runtime, config: GatewayConfig, upstream: FakeOpenAIServer
) -> None:
    parts = [
        {"type": "text", "text": "Which is the cat?"},
        {"type": "image_url", "image_url": {"url": LINK, "detail": "low"}},
        {"type": "image_url", "image_url": {"url": DATA_URL}},
    ]
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            answer = await client.chat.completions.create(
                model="gpt-test",
                messages=[{"role": "user", "content": parts}],  # type: ignore[list-item]
            )
    assert answer.choices[0].message.content
    assert sent_content(upstream) == parts


async def test_anthropic_image_blocks_become_image_parts(
    rt: Runtime, config: GatewayConfig, upstream: FakeOpenAIServer
) -> None:
    blocks = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": LINK}},
        {"type": "text", "text": "Same cat?"},
    ]
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, anthropic_sdk(port) as client:
            message = await client.messages.create(
                model="gpt-test",
                max_tokens=10,
                messages=[{"role": "user", "content": blocks}],  # type: ignore[list-item]
            )
    assert message.content
    assert sent_content(upstream) == [
        {"type": "text", "text": "Same cat?"},
        {"type": "image_url", "image_url": {"url": DATA_URL}},
        {"type": "image_url", "image_url": {"url": LINK}},
    ]


async def test_responses_input_images_become_image_parts(
    rt: Runtime, config: GatewayConfig, upstream: FakeOpenAIServer
) -> None:
    content = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": DATA_URL, "detail": "high"},
    ]
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            response = await client.responses.create(
                model="gpt-test",
                input=[{"role": "user", "content": content}],  # type: ignore[list-item]
            )
    assert response.output_text
    assert sent_content(upstream) == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": DATA_URL, "detail": "high"}},
    ]


@pytest.mark.parametrize(
    ("message", "param", "says"),
    [
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]},
            "messages[0].content[0].image_url",
            "http(s)://",
        ),
        (
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@"}}
                ],
            },
            "messages[0].content[0].image_url",
            "valid base64",
        ),
        (
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": LINK}}]},
            "messages[0].content[0].type",
            "images go in user messages",
        ),
        (
            {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]},
            "messages[0].content[0].type",
            "only text and image_url",
        ),
    ],
)
async def test_what_is_not_an_image_is_a_400_naming_the_part(
    rt: Runtime, config: GatewayConfig, message: dict[str, object], param: str, says: str
) -> None:
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port, sdk_client(port) as client:
            with pytest.raises(openai.BadRequestError) as raised:
                await client.chat.completions.create(
                    model="gpt-test",
                    messages=[message],  # type: ignore[list-item]
                )
    error = raised.value.body
    assert isinstance(error, dict)
    assert error["param"] == param
    assert says in error["message"]


async def test_documents_and_files_are_refused_saying_so(
    rt: Runtime, config: GatewayConfig
) -> None:
    document = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "AA=="},
    }
    file = {"type": "input_file", "file_id": "file_1"}
    with trio.fail_after(DEADLINE):
        async with serving(rt, config) as port:
            async with anthropic_sdk(port) as client:
                with pytest.raises(anthropic.BadRequestError, match=r"content\[0\] is a document"):
                    await client.messages.create(
                        model="gpt-test",
                        max_tokens=5,
                        messages=[{"role": "user", "content": [document]}],  # type: ignore[list-item]
                    )
            async with sdk_client(port) as openai_client:
                with pytest.raises(openai.BadRequestError, match="send files"):
                    await openai_client.responses.create(
                        model="gpt-test",
                        input=[{"role": "user", "content": [file]}],  # type: ignore[list-item]
                    )
