"""Processes for benchmarks/gateway.py: the fake upstream, the gateway, LiteLLM's proxy.

Each runs in its own process group (as in a deployment) and is stopped, with
its children, when its `with` block ends. Blocking code on purpose: this runs
before and after the trio load generator, never inside it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"

# Known good with this benchmark (installed from PyPI into its own venv).
LITELLM_REQUIREMENT = "litellm[proxy]==1.108.7"
INSTALL_SECONDS = 300.0
START_SECONDS = 120.0


class StartFailed(Exception):
    """A benchmark process did not come up; the message says why."""


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far; NaN where /proc
    does not tell (not Linux, or the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the child binds it moments later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


@contextmanager
def running(
    argv: list[str], log: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` (output to `log`) for the block; then SIGTERM its group, SIGKILL if stuck."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its own group: stopping it stops its workers too
        )
        try:
            yield proc
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_ready(
    proc: subprocess.Popen[bytes],
    url: str,
    log: Path,
    *,
    timeout: float = START_SECONDS,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Poll `url` until it answers 200; StartFailed (with the log's tail) otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartFailed(f"it exited with status {proc.returncode}; log {log}:\n{_tail(log)}")
        try:
            if httpx.get(url, headers=dict(headers or {}), timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise StartFailed(f"{url} did not answer within {timeout:.0f} s; log {log}:\n{_tail(log)}")


def upstream_command(url_file: Path) -> list[str]:
    """The fake OpenAI upstream (benchmarks/gateway.py in upstream mode); it picks
    a free port itself and writes its base URL to `url_file` once it listens."""
    return [sys.executable, str(ROOT / "benchmarks" / "gateway.py"), "--upstream", str(url_file)]


def read_url(proc: subprocess.Popen[bytes], url_file: Path, log: Path) -> str:
    """The URL the upstream wrote to `url_file`; StartFailed when it never does."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartFailed(f"it exited with status {proc.returncode}; log {log}:\n{_tail(log)}")
        text = url_file.read_text().strip() if url_file.exists() else ""
        if text.endswith("/v1"):
            return text
        time.sleep(0.05)
    raise StartFailed(f"it wrote no URL within {START_SECONDS:.0f} s; log {log}:\n{_tail(log)}")


def gateway_command(config: Path, port: int) -> list[str]:
    """This checkout's gateway CLI: `abstractcore-actors serve --config ...`."""
    return [
        sys.executable,
        "-m",
        "abstractcore_actors.cli",
        "serve",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def gateway_env() -> dict[str, str]:
    # the child imports this checkout's package, whatever is installed in the venv
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def install_litellm() -> Path:
    """The `litellm` executable of a throwaway venv under .bench/, installed on first use.

    Raises StartFailed with what went wrong and how to retry."""
    venv = CACHE / "litellm-venv"
    exe = venv / "bin" / "litellm"
    stamp = venv / (".installed-" + LITELLM_REQUIREMENT.replace("[", "-").replace("]", ""))
    if stamp.exists() and exe.exists():
        return exe
    log = CACHE / "litellm-install.log"
    print(
        f"  installing {LITELLM_REQUIREMENT} into {venv} (first run only, "
        f"up to {INSTALL_SECONDS / 60:.0f} min; log {log})",
        flush=True,
    )
    deadline = time.monotonic() + INSTALL_SECONDS
    steps = [
        ["python3", "-m", "venv", "--clear", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", LITELLM_REQUIREMENT],
    ]
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        for step in steps:
            left = deadline - time.monotonic()
            try:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=left)
            except subprocess.TimeoutExpired:
                raise StartFailed(
                    f"installing {LITELLM_REQUIREMENT} took over {INSTALL_SECONDS:.0f} s "
                    f"(is PyPI reachable?); log {log}"
                ) from None
            except OSError as exc:
                raise StartFailed(f"cannot run {step[0]}: {exc}") from None
            if done.returncode != 0:
                raise StartFailed(
                    f"`{' '.join(step[2:])}` failed (status {done.returncode}); "
                    f"log {log}:\n{_tail(log)}\n  fix the cause (network, Python version) "
                    f"and run again; `rm -rf {venv}` starts the install afresh"
                )
    stamp.touch()
    return exe


def litellm_config(path: Path, upstream: str, model: str) -> None:
    """LiteLLM's proxy config: `model` served by an openai/ route to the fake upstream."""
    path.write_text(
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {upstream}\n"
        "      api_key: sk-upstream-bench\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
        "  set_verbose: false\n"
        "  drop_params: true\n"
    )


def litellm_command(exe: Path, config: Path, port: int) -> list[str]:
    return [
        str(exe),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]


def litellm_env(master_key: str) -> dict[str, str]:
    # Offline, the proxy needs the bundled cost map and a strong master key to start.
    return {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
    }
