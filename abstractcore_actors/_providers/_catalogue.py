"""Which provider names exist, how to reach each, and how options become a config.

Names follow AbstractCore: `openai`, `anthropic`, `openai-compatible` (with
`base_url`), `ollama`, `lmstudio`, `vllm`, `llamacpp`, `openrouter`, `local`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

from ..errors import ConfigurationError, ValidationError
from ._adapter import Adapter, ProviderConfig
from ._calls import ProviderPolicy
from ._embed_batch import EmbedBatching
from ._limits import LIMIT_OPTIONS, limits_from_options
from ._resilience import RetryPolicy

AdapterKind = Literal["openai", "anthropic", "compatible", "local"]


@attrs.frozen(kw_only=True)
class ProviderKind:
    name: str
    adapter: AdapterKind
    base_url: str | None = None
    base_url_env: str | None = None
    key_env: str | None = None
    key_required: bool = False
    default_model: str | None = None
    extra_options: frozenset[str] = frozenset()
    # values of extra options when the caller gives none
    option_defaults: Mapping[str, Any] = attrs.field(factory=dict)
    max_concurrent: int = 16


# The compatible adapter's own options: how it asks for embeddings ("base64"
# or "float"); whether a non-streamed call goes upstream as a stream
# (`stream_upstream`: then cancelling it closes the stream, which every
# server notices, where llama.cpp computes a non-streamed answer to its end);
# and which native form structured output takes (`structured`, _structured.py).
_COMPATIBLE_OPTIONS = frozenset(
    {"embedding_format", "stream_upstream", "structured", "http_client"}
)
# Which HTTP client carries the calls: "lean" (_http11: pooled, a fraction of
# httpx's CPU per call), "httpx" (its proxy support, HTTP/1.1 quirks of any
# server), or "auto": httpx when the environment sets a proxy for base_url.
HTTP_CLIENTS = ("auto", "lean", "httpx")
STRUCTURED_FORMS = ("json_schema", "json_object_schema", "guided_json", "ollama_format", "prompt")


def _self_hosted(structured: str) -> Mapping[str, Any]:
    return {"stream_upstream": True, "structured": structured}


PROVIDERS: Mapping[str, ProviderKind] = {
    kind.name: kind
    for kind in (
        ProviderKind(
            name="openai",
            adapter="openai",
            base_url_env="OPENAI_BASE_URL",
            key_env="OPENAI_API_KEY",
            key_required=True,
            default_model="gpt-4o-mini",
        ),
        ProviderKind(
            name="anthropic",
            adapter="anthropic",
            base_url_env="ANTHROPIC_BASE_URL",
            key_env="ANTHROPIC_API_KEY",
            key_required=True,
            default_model="claude-3-5-haiku-latest",
            extra_options=frozenset({"max_tokens"}),
        ),
        ProviderKind(
            name="openai-compatible",
            adapter="compatible",
            key_env="OPENAI_COMPATIBLE_API_KEY",
            extra_options=_COMPATIBLE_OPTIONS,
            # An unknown server, often a hosted API: the prompted form works on
            # every one, and whole answers stay one JSON body (asked as a
            # stream, a 200-token answer costs us ~25x the CPU:
            # benchmarks/stream_upstream.py). Set stream_upstream=True, or use
            # the llamacpp/vllm/ollama/lmstudio names, for a self-hosted server.
            option_defaults={"stream_upstream": False, "structured": "prompt"},
        ),
        ProviderKind(
            name="ollama",
            adapter="compatible",
            base_url="http://localhost:11434/v1",
            base_url_env="OLLAMA_BASE_URL",
            extra_options=_COMPATIBLE_OPTIONS,
            option_defaults=_self_hosted("json_schema"),
        ),
        ProviderKind(
            name="lmstudio",
            adapter="compatible",
            base_url="http://localhost:1234/v1",
            base_url_env="LMSTUDIO_BASE_URL",
            extra_options=_COMPATIBLE_OPTIONS,
            option_defaults=_self_hosted("json_schema"),
        ),
        ProviderKind(
            name="vllm",
            adapter="compatible",
            base_url="http://localhost:8000/v1",
            base_url_env="VLLM_BASE_URL",
            key_env="VLLM_API_KEY",
            extra_options=_COMPATIBLE_OPTIONS,
            option_defaults=_self_hosted("json_schema"),
        ),
        ProviderKind(
            name="llamacpp",
            adapter="compatible",
            base_url="http://localhost:8080/v1",
            base_url_env="LLAMACPP_BASE_URL",
            extra_options=_COMPATIBLE_OPTIONS,
            # llama.cpp's server takes {"type": "json_object", "schema": ...},
            # not json_schema
            option_defaults=_self_hosted("json_object_schema"),
        ),
        ProviderKind(
            name="openrouter",
            adapter="compatible",
            base_url="https://openrouter.ai/api/v1",
            key_env="OPENROUTER_API_KEY",
            key_required=True,
            extra_options=_COMPATIBLE_OPTIONS,
            # a hosted API stops on disconnect; it takes json_schema
            option_defaults={"stream_upstream": False, "structured": "json_schema"},
        ),
        ProviderKind(
            name="local",
            adapter="local",
            default_model="smollm2-135m-instruct",
            extra_options=frozenset(
                {
                    "n_ctx",
                    "n_batch",
                    "n_threads",
                    "seed",
                    "chat_format",
                    "max_tokens",
                    "embedding_model",  # "use" (the shipped encoder) or "gguf"
                }
            ),
            # one llama context generates one answer at a time
            max_concurrent=1,
        ),
    )
}

_ALIASES = {
    "openai_compatible": "openai-compatible",
    "llama.cpp": "llamacpp",
    "lm-studio": "lmstudio",
}

# Defaults for every call of the LLM (a call's own argument wins).
CALL_DEFAULTS = frozenset({"temperature", "top_p", "max_tokens", "seed"})

_COMMON_OPTIONS = CALL_DEFAULTS | frozenset(
    {
        "api_key",
        "base_url",
        "timeout",
        "read_timeout",
        "connect_timeout",
        "max_concurrent",
        "max_retries",
        "retry",
        "failure_threshold",
        "reset_after",
        "retry_seed",
        "headers",
        "name",
        "embed_batching",
    }
)


def split_provider(provider: str, model: str | None) -> tuple[ProviderKind, str | None]:
    """`("openai", "gpt-4o")` or `("openai/gpt-4o", None)` -> (kind, model)."""
    if not isinstance(provider, str) or not provider:
        raise ValidationError(f"provider must be a non-empty string, got {provider!r}")
    name = _ALIASES.get(provider.lower(), provider.lower())
    if name not in PROVIDERS and "/" in provider and model is None:
        head, _, rest = provider.partition("/")
        name, model = _ALIASES.get(head.lower(), head.lower()), rest
    if name not in PROVIDERS:
        close = difflib.get_close_matches(name, list(PROVIDERS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValidationError(
            f"unknown provider {provider!r}.{hint} Known: {', '.join(PROVIDERS)} "
            '(or "provider/model", e.g. "openai/gpt-4o-mini")'
        )
    return PROVIDERS[name], model


def build_provider(
    provider: str, model: str | None, options: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[ProviderConfig, ProviderPolicy, str | None]:
    """Validate options and read the environment: (config, policy, actor name)."""
    kind, model = split_provider(provider, model)
    # Every provider but the local model reads answers off the network.
    limits = LIMIT_OPTIONS if kind.adapter != "local" else frozenset()
    allowed = _COMMON_OPTIONS | kind.extra_options | limits
    unknown = sorted(set(options) - allowed)
    if unknown:
        hints = "".join(
            f" ({key}: did you mean {close[0]}?)"
            for key in unknown
            if (close := difflib.get_close_matches(key, allowed, n=1))
        )
        raise ValidationError(
            f"{kind.name} does not take option(s) {', '.join(unknown)}{hints}; "
            f"it takes: {', '.join(sorted(allowed))}"
        )
    model = model or kind.default_model
    if options.get("embedding_format", "base64") not in ("base64", "float"):
        raise ValidationError(
            f"embedding_format must be 'base64' or 'float' (got {options['embedding_format']!r})"
        )
    if options.get("embedding_model", "use") not in ("use", "gguf"):
        raise ValidationError(
            "embedding_model must be 'use' (the shipped sentence encoder) or 'gguf' "
            f"(the model file's own hidden states) (got {options['embedding_model']!r})"
        )
    if not isinstance(options.get("stream_upstream", False), bool):
        raise ValidationError(
            f"stream_upstream must be true or false (got {options['stream_upstream']!r})"
        )
    if options.get("http_client", "auto") not in HTTP_CLIENTS:
        raise ValidationError(
            f"http_client must be one of {', '.join(map(repr, HTTP_CLIENTS))} "
            f"(got {options['http_client']!r})"
        )
    if options.get("structured", "prompt") not in STRUCTURED_FORMS:
        raise ValidationError(
            f"structured must be one of {', '.join(map(repr, STRUCTURED_FORMS))} "
            f"(got {options['structured']!r})"
        )
    if not model:
        raise ValidationError(f"{kind.name} needs a model name: create_llm({kind.name!r}, 'model')")
    base_url = options.get("base_url") or (
        env.get(kind.base_url_env) if kind.base_url_env else None
    )
    base_url = base_url or kind.base_url
    if kind.adapter == "compatible" and not base_url:
        raise ConfigurationError(
            f"{kind.name} needs base_url=, the server's OpenAI-compatible root "
            "(e.g. http://localhost:8080/v1)"
        )
    api_key = options.get("api_key") or (env.get(kind.key_env) if kind.key_env else None)
    if kind.key_required and not api_key:
        raise ConfigurationError(
            f"{kind.name} needs an API key: set {kind.key_env} or pass api_key="
        )
    config = ProviderConfig(
        provider=kind.name,
        model=model,
        api_key=api_key,
        base_url=base_url,
        read_timeout=_seconds(options, "read_timeout", 60.0),
        connect_timeout=_seconds(options, "connect_timeout", 10.0),
        headers=dict(options.get("headers") or {}),
        options={
            **kind.option_defaults,
            **{k: v for k, v in options.items() if k in kind.extra_options or k in CALL_DEFAULTS},
        },
        limits=limits_from_options(options),
    )
    max_concurrent = options.get("max_concurrent", kind.max_concurrent)
    if not isinstance(max_concurrent, int) or max_concurrent < 1:
        raise ValidationError(f"max_concurrent must be an integer >= 1 (got {max_concurrent!r})")
    config = attrs.evolve(config, max_concurrent=max_concurrent)
    retry = options.get("retry")
    if retry is None:
        retries = options.get("max_retries", 2)
        if not isinstance(retries, int) or retries < 0:
            raise ValidationError(f"max_retries must be an integer >= 0 (got {retries!r})")
        retry = RetryPolicy(max_attempts=retries + 1)
    elif not isinstance(retry, RetryPolicy):
        raise ValidationError("retry= takes a RetryPolicy(...)")
    timeout = options.get("timeout", 300.0)
    if timeout is not None:
        timeout = _seconds(options, "timeout", 300.0)
    policy = ProviderPolicy(
        max_concurrent=max_concurrent,
        timeout=timeout,
        retry=retry,
        failure_threshold=options.get("failure_threshold", 5),
        reset_after=options.get("reset_after", 30.0),
        retry_seed=options.get("retry_seed"),
        embed_batching=EmbedBatching.parse(options.get("embed_batching")),
    )
    return config, policy, options.get("name")


def _seconds(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"{key} must be a number of seconds > 0 (got {value!r})")
    return float(value)


def adapter_factory(config: ProviderConfig) -> Callable[[ProviderConfig], Adapter]:
    """The adapter class for a config, imported only when used."""
    kind = PROVIDERS[config.provider].adapter
    if kind == "openai":
        from ._openai import OpenAIAdapter

        return OpenAIAdapter
    if kind == "anthropic":
        from ._anthropic import AnthropicAdapter

        return AnthropicAdapter
    if kind == "local":
        from ._local import LocalAdapter
        from ._local_file import resolve_model_path

        resolve_model_path(config.model)  # fail now, at create_llm, not in the actor
        return LocalAdapter
    from ._compatible import CompatibleAdapter, check_config

    check_config(config)  # fail now, at create_llm, not in the actor
    return CompatibleAdapter
