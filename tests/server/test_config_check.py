"""A gateway config is checked whole at start-up: every configured model's
provider is set up as create_llm would, every problem listed at once, and the
`serve` command says so in one line (`--check` too) instead of a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trio

from abstractcore_actors import Runtime
from abstractcore_actors.cli import main
from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server import GatewayConfig, serve
from abstractcore_actors.server._config import check_config, config_from_mapping

GOOD = {
    "provider": "openai-compatible",
    "model": "m",
    "options": {"base_url": "http://127.0.0.1:9/v1"},
}
BAD_MODELS = {
    "misspelt": {"provider": "openai-compatibel", "model": "m"},
    "no_url": {"provider": "openai-compatible", "model": "m"},
    "option_typo": {
        "provider": "openai-compatible",
        "model": "m",
        "options": {"base_ur": "http://127.0.0.1:9/v1"},
    },
    "no_key": {"provider": "anthropic", "model": "claude-x"},
}
BAD_TOML = """
[models.fast]
provider = "openai-compatibel"
model = "m"
options = { base_url = "http://127.0.0.1:9/v1" }

[models.box]
provider = "openai-compatible"
model = "m"
"""


def checked(rt: Runtime, config: GatewayConfig) -> None:
    check_config(config, lambda r: rt.check_llm(r.provider, r.model, **r.options))


async def test_every_bad_model_is_listed_with_its_fix(rt: Runtime) -> None:
    config = config_from_mapping({"models": {"good": GOOD, **BAD_MODELS}})
    with pytest.raises(ConfigurationError) as caught:
        checked(rt, config)
    text = str(caught.value)
    assert "4 problem(s)" in text and "[models.good]" not in text
    assert "[models.misspelt]: unknown provider 'openai-compatibel'" in text
    assert "Did you mean 'openai-compatible'" in text
    assert "[models.no_url]: openai-compatible needs base_url=" in text
    assert "[models.option_typo]" in text and "base_ur: did you mean base_url?" in text
    assert "[models.no_key]" in text and "ANTHROPIC_API_KEY" in text


async def test_a_good_config_passes(rt: Runtime) -> None:
    checked(rt, config_from_mapping({"models": {"good": GOOD}}))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"provider": "openai", "modle": "gpt-4o"}, r"modle \(modle: did you mean model\?\)"),
        ({"provider": "openai", "base_url": "http://x/v1"}, "go inside options"),
        ({"model": "gpt-4o"}, 'needs provider = "..."'),
        ({"provider": "openai", "options": "base_url=x"}, "options must be a table"),
        ("openai", "must be a table"),
    ],
)
def test_model_tables_of_the_wrong_shape_are_refused_at_load(spec: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        config_from_mapping({"models": {"m": spec}})


async def test_serve_stops_before_it_binds_a_socket(rt: Runtime) -> None:
    config = config_from_mapping({"models": BAD_MODELS})
    with pytest.raises(ConfigurationError, match="4 problem"), trio.fail_after(5):
        await serve(rt, config, host="127.0.0.1", port=0)  # would serve until the deadline


def test_serve_check_exits_0_on_a_good_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[models.fast]\nprovider = "openai-compatible"\nmodel = "m"\n'
        'options = { base_url = "http://127.0.0.1:9/v1" }\n'
    )
    assert main(["serve", "--check", "--config", str(path)]) == 0
    assert "is good: fast" in capsys.readouterr().out


@pytest.mark.parametrize("check", [True, False])
def test_a_bad_config_is_exit_2_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], check: bool
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(BAD_TOML)
    argv = ["serve", "--config", str(path), "--port", "0"] + (["--check"] if check else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "[models.fast]: unknown provider" in err and "[models.box]" in err


def test_a_port_in_use_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[models.fast]\nprovider = "openai-compatible"\nmodel = "m"\n'
        'options = { base_url = "http://127.0.0.1:9/v1" }\n'
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--config", str(path), "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"cannot listen on 127.0.0.1:{port}" in err[0] and "in use" in err[0]
