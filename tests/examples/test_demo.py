"""`make demo` (examples/demo.py) as a user runs it: a child process on the
embedded local model, no API key; every part of the showcase shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.local_model
def test_the_demo_shows_every_part_and_ends_cleanly() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    assert "1. a streamed session with local/" in out
    assert "[tool get_weather: ok]" in out  # a tool added mid-session, called
    assert "you (while it streams): about mountains instead" in out  # an injection
    assert "2. a race between 3 contenders" in out and "cancelled" in out
    assert "3. an ensemble of 3 voters" in out and "vote:" in out
    assert "stopped: generation cancelled" in out
    assert out.rstrip().endswith("every actor, socket and thread is gone")
