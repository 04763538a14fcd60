"""Gateway config from TOML, key hashing, and the `serve` command end to end."""

from __future__ import annotations

import functools
import re
import signal
import subprocess
import sys
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
