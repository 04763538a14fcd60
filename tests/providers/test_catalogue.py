"""create_llm's validation: provider names, options, keys — before anything starts."""

from __future__ import annotations

import pytest

from abstractcore_actors import ConfigurationError, ValidationError, open_runtime
from abstractcore_actors._providers import PROVIDERS, build_provider

ENV = {"OPENAI_API_KEY": "sk-env-1234567890", "ANTHROPIC_API_KEY": "sk-ant-env-1234567890"}


def test_known_provider_names_follow_abstractcore() -> None:
    assert set(PROVIDERS) >= {
        "openai",
        "anthropic",
        "openai-compatible",
        "ollama",
        "lmstudio",
        "vllm",
        "openrouter",
        "local",
    }


@pytest.mark.parametrize(
    ("provider", "model", "want"),
    [
        ("openai", "gpt-4o", ("openai", "gpt-4o")),
        ("openai/gpt-4o", None, ("openai", "gpt-4o")),
        ("OpenAI", None, ("openai", "gpt-4o-mini")),
        ("openrouter/meta-llama/llama-3-8b", None, ("openrouter", "meta-llama/llama-3-8b")),
        ("ollama", "qwen2.5:0.5b", ("ollama", "qwen2.5:0.5b")),
    ],
)
def test_provider_and_model_strings(
    provider: str, model: str | None, want: tuple[str, str]
) -> None:
    env = {**ENV, "OPENROUTER_API_KEY": "sk-or-1234567890"}
    config, _, _ = build_provider(provider, model, {}, env)
    assert (config.provider, config.model) == want


def test_unknown_provider_suggests_the_close_one() -> None:
    with pytest.raises(ValidationError, match="Did you mean 'anthropic'"):
        build_provider("antropic", "claude", {}, ENV)


def test_missing_key_names_the_environment_variable() -> None:
    with pytest.raises(ConfigurationError, match="set OPENAI_API_KEY or pass api_key="):
        build_provider("openai", "gpt-4o", {}, {})


def test_compatible_needs_a_base_url() -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        build_provider("openai-compatible", "m", {}, {})


def test_unknown_option_lists_the_accepted_ones() -> None:
    with pytest.raises(ValidationError, match=r"does not take option.*max_concurency"):
        build_provider("ollama", "m", {"max_concurency": 3}, {})


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"timeout": 0}, "timeout must be"),
        ({"read_timeout": -1}, "read_timeout must be"),
        ({"max_concurrent": 0}, "max_concurrent must be"),
        ({"max_retries": -1}, "max_retries must be"),
        ({"retry": 3}, "RetryPolicy"),
    ],
)
def test_bad_option_values(options: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        build_provider("ollama", "m", options, {})


def test_api_key_never_shows_in_a_repr() -> None:
    config, _, _ = build_provider("openai", "gpt-4o", {"api_key": "sk-secret-abcdefgh"}, {})
    assert "sk-secret" not in repr(config)
    assert "<set>" in repr(config)


async def test_create_llm_validates_before_starting_anything() -> None:
    async with open_runtime(env={}) as rt:
        with pytest.raises(ConfigurationError):
            rt.create_llm("anthropic", "claude-3-5-haiku-latest")
        assert rt.names() == []
        llm = rt.create_llm("ollama", "tiny")
        assert rt.names() == ["llm:ollama/tiny"]
        again = rt.create_llm("ollama/tiny")
        assert again.actor.name == "llm:ollama/tiny#2"
        assert repr(llm) == "<LLM ollama/tiny actor='llm:ollama/tiny'>"


async def test_bad_call_arguments_are_typed_errors() -> None:
    async with open_runtime(env={}) as rt:
        llm = rt.create_llm("ollama", "tiny")
        with pytest.raises(ValidationError, match="nothing to answer"):
            await llm.generate()
        with pytest.raises(ValidationError, match="temperature"):
            await llm.generate("hi", temperature=5)
        with pytest.raises(ValidationError, match="max_tokens"):
            await llm.generate("hi", max_tokens=0)
        with pytest.raises(ValidationError, match="timeout"):
            await llm.generate("hi", timeout=-1)
        with pytest.raises(ValidationError, match="role"):
            await llm.generate(messages=[{"role": "wizard", "content": "x"}])
        with pytest.raises(ValidationError, match="as a tool"):
            await llm.generate("hi", tools=[42])
