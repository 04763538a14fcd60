"""The session's sync facade from plain code: turns, history, intervention from
another thread while a turn streams, save/load."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from abstractcore_actors import ValidationError
from abstractcore_actors.sync import SyncRuntime
from abstractcore_actors.testing import FakeOpenAIServer, Reply
from tests.providers.test_sync_facade import run_server_in_thread


def test_sync_session_turns_inject_and_save(tmp_path: Path) -> None:
    def check(server: FakeOpenAIServer) -> None:
        server.push(
            Reply(text="first answer"),
            Reply(text=" ".join(["w"] * 400), token_latency=0.005),
            Reply(text="with context"),
        )
        with SyncRuntime() as rt:
            llm = rt.create_llm("openai-compatible", "m", base_url=server.base_url)
            chat = rt.session(llm, system_prompt="rules")
            assert chat.generate("one").content == "first answer"
            pieces = []
            for n, chunk in enumerate(chat.stream("two")):
                pieces.append(chunk.text)
                if n == 5:  # another thread intervenes, as a UI would
                    worker = threading.Thread(target=chat.inject, args=("context!",))
                    worker.start()
                    worker.join(10)
            assert "".join(pieces).endswith("with context")
            statuses = [(e.message.role, e.status) for e in chat.entries]
            assert ("user", "injected") in statuses and ("assistant", "interrupted") in statuses
            chat.save(tmp_path / "s.json")
            other = rt.session(llm)
            other.load(tmp_path / "s.json")
            assert other.history == chat.history
            with (
                SyncRuntime() as elsewhere,
                pytest.raises(ValidationError, match="this SyncRuntime"),
            ):
                elsewhere.session(llm)

    run_server_in_thread(check)
