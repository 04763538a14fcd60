"""What the tests of examples/ share: loading an example as a module, a free
port, and the fake upstream the example's model talks to."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from abstractcore_actors.testing import FakeOpenAIServer, open_fake_openai_server

EXAMPLES = Path(__file__).parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """examples/NAME.py as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the app binds it moments later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def upstream() -> AsyncIterator[FakeOpenAIServer]:
    async with open_fake_openai_server() as fake:
        yield fake
