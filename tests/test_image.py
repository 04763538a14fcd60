"""`Image`: the forms it takes, the errors for the ones it does not, a short
repr for megabytes of base64, and images only in user messages."""

from __future__ import annotations

import pytest

from abstractcore_actors import Image, Message, ValidationError


def test_from_bytes_is_a_data_url_and_inline_gives_its_parts() -> None:
    image = Image.from_bytes(b"\x89PNG\r\n\x1a\n", "image/png", detail="low")
    assert image.url == "data:image/png;base64,iVBORw0KGgo="
    assert image.inline == ("image/png", "iVBORw0KGgo=")
    assert Image("https://example.com/a.png").inline is None


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/a.png", "http(s)://"),
        ("data:text/plain;base64,AAAA", "data:image/"),
        ("data:image/png;base64,not base64!", "valid base64"),
        ("/tmp/cat.png", "Image.from_bytes"),
    ],
)
def test_a_url_that_is_no_image_says_what_to_send(url: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says.replace("(", r"\(").replace(")", r"\)")):
        Image(url)


def test_detail_and_media_type_are_checked() -> None:
    with pytest.raises(ValidationError, match="detail"):
        Image("https://example.com/a.png", detail="ultra")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="image/"):
        Image.from_bytes(b"%PDF", "application/pdf")


def test_the_repr_of_a_large_image_stays_short() -> None:
    image = Image.from_bytes(b"\0" * 1_000_000)
    assert len(repr(image)) < 150
    assert "chars)" in repr(image)


def test_images_belong_in_user_messages_only() -> None:
    image = Image("https://example.com/a.png")
    assert Message.user("look", [image]).images == (image,)
    with pytest.raises(ValidationError, match="user messages"):
        Message(role="assistant", content="x", images=(image,))
    with pytest.raises(ValidationError, match="Image values"):
        Message(role="user", content="x", images=("https://example.com/a.png",))  # type: ignore[arg-type]


def test_openai_style_dicts_carry_their_images() -> None:
    message = Message.coerce(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        }
    )
    assert message.content == "look"
    assert message.images == (Image("https://example.com/a.png"),)
    with pytest.raises(ValidationError, match="text or image_url"):
        Message.coerce({"role": "user", "content": [{"type": "input_audio"}]})
