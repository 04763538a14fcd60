"""Gateway config from TOML, key hashing, and the `serve` command end to end."""

from __future__ import annotations

import functools
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest
import trio

from abstractcore_actors.errors import ConfigurationError
from abstractcore_actors.server import GatewayConfig, ModelRoute, hash_key, load_config

ROOT = Path(__file__).parents[2]
TOML = """
[server]
api_keys = ["plain-key"]
api_key_hashes = ["{hashed}"]
body_limit = 2048
max_tokens = 256
request_timeout = 30
passthrough = false

[models.fast]
provider = "openai-compatible"
model = "gpt-test"
options = {{ base_url = "http://127.0.0.1:9/v1", api_key = "sk-secret-abcdefgh" }}

[aliases]
quick = "fast"
"""


def test_load_config_reads_every_setting(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(TOML.format(hashed=hash_key("other-key")))
    config = load_config(path)
    assert config.models["fast"].provider == "openai-compatible"
    assert config.aliases == {"quick": "fast"}
    assert config.key_allowed("plain-key") and config.key_allowed("other-key")
    assert not config.key_allowed("plain-key ")
    assert "plain-key" not in repr(config) and "sk-secret" not in repr(config)
    assert (config.body_limit, config.max_tokens, config.request_timeout) == (2048, 256, 30)
    assert config.public_names() == ["fast", "quick"]


@pytest.mark.parametrize(
    "text",
    [
        "[server]\nbody_limt = 3\n",
        "[aliases]\nx = 'missing'\n",
        "[models.a]\nmodel = 'no provider'\n",
        "[server]\nbody_limit = 0\n",
        "not toml = = =",
    ],
)
def test_a_bad_config_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError):
        load_config(path)


def test_the_default_config_serves_the_local_model_without_auth() -> None:
    config = GatewayConfig()
    assert config.models == {"local": ModelRoute(provider="local")}
    assert not config.auth_required


async def test_the_serve_command_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(TOML.format(hashed=hash_key("x")))
    command = [sys.executable, "-m", "abstractcore_actors.cli", "serve"]
    command += ["--config", str(path), "--port", "0"]
    run = functools.partial(
        trio.run_process, command, stderr=subprocess.PIPE, check=False, cwd=ROOT
    )
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(run)
            assert process.stderr is not None
            seen = b""
            while not re.search(rb"gateway on http://\S+:(\d+)\n", seen):
                seen += await process.stderr.receive_some(1024)
            match = re.search(rb"gateway on http://\S+:(\d+)\n", seen)
            assert match is not None
            port = int(match.group(1))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                assert (await http.get("/health")).json() == {"status": "ok"}
                models = await http.get("/v1/models", headers={"authorization": "Bearer plain-key"})
                assert [m["id"] for m in models.json()["data"]] == ["fast", "quick"]
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0


async def test_without_a_config_the_local_model_is_served_without_auth() -> None:
    from abstractcore_actors import open_runtime
    from abstractcore_actors.server import serve

    with trio.fail_after(10):
        async with open_runtime(env={}) as rt, trio.open_nursery() as nursery:
            port = await nursery.start(functools.partial(serve, rt, None, port=0))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                models = (await http.get("/v1/models")).json()
            assert models["object"] == "list"
            assert [(m["id"], m["owned_by"]) for m in models["data"]] == [("local", "local")]
            nursery.cancel_scope.cancel()


SECRET = "sk-live-Plaintext-Key-Ünïcode"
HOWTO = "python -c \"from abstractcore_actors.server import hash_key; print(hash_key('KEY'))\""


@pytest.mark.parametrize(
    "text",
    [
        f'[server]\napi_key_hashes = ["{SECRET}"]\n',
        f'[server]\napi_key_hashes = ["{hash_key(SECRET)[:63]}é"]\n',  # 64 chars, not ASCII
        f'[server]\napi_key_hashes = ["{hash_key(SECRET)[:62]}"]\n',
        f'[server]\napi_key_hashes = ["{hash_key(SECRET)}0"]\n',
        f'[server]\napi_key_hashes = ["{hash_key(SECRET)[:63]}g"]\n',
        f'[[keys]]\nname = "team"\nhash = "{SECRET}"\n',
        f'[[keys]]\nhash = "{hash_key(SECRET)[:63]}é"\n',
    ],
)
def test_a_key_hash_that_is_not_sha256_hex_is_refused_without_echoing_it(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        load_config(path)
    message = str(caught.value)
    assert HOWTO in message and "64 hex digits" in message
    assert SECRET not in message and hash_key(SECRET)[:40] not in message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[server]\napi_key_hashes = [5]\n", "api_key_hashes[0]"),
        (f'[server]\napi_key_hashes = "{hash_key("x")}"\n', "must be a list"),
        ('[server]\napi_keys = "letters"\n', "api_keys must be a list"),  # not 7 one-letter keys
        ("[server]\napi_keys = [5]\n", "api_keys must be a list"),
        ('[[keys]]\nkey = ""\n', "key must be a non-empty string"),
        ("[[keys]]\nhash = 5\n", "[[keys]] entry 0: hash"),
    ],
)
def test_key_lists_of_the_wrong_shape_are_configuration_errors(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        load_config(path)
    assert words in str(caught.value)


def test_hashes_in_any_case_match_and_python_configs_are_checked_too() -> None:
    upper = hash_key("k1").upper()
    config = GatewayConfig(api_key_hashes=[f"  {upper} "])
    assert config.key_allowed("k1") and not config.key_allowed("k2")
    assert config.api_key_hashes == frozenset({hash_key("k1")})
    mixed = load_config_text(f'[[keys]]\nname = "t"\nhash = "{hash_key("k2").upper()}"\n')
    assert mixed.find_key("k2") is not None and mixed.find_key("k2").name == "t"  # type: ignore[union-attr]
    with pytest.raises(ConfigurationError) as caught:
        GatewayConfig(api_key_hashes=[SECRET])
    assert SECRET not in str(caught.value) and "hash_key" in str(caught.value)
    with pytest.raises(ConfigurationError):
        GatewayConfig(api_key_hashes=hash_key("k1"))  # type: ignore[arg-type]


def load_config_text(text: str) -> GatewayConfig:
    from abstractcore_actors.server._config import config_from_mapping

    return config_from_mapping(tomllib.loads(text))
