"""Gateway overhead: AsyncOpenAI streams straight to an upstream, through this
gateway, and through LiteLLM's proxy, all on 127.0.0.1.

A fake OpenAI upstream (20 ms to first token, 50 chunks), the gateway
(`abstractcore-actors serve`) and LiteLLM's proxy (one worker, installed into
.bench/litellm-venv on first run) each run in their own process; the load
generator (one AsyncOpenAI client per target, under trio) runs here. At 1, 50
and 200 concurrent streams, for (a) direct, (b) gateway, (c) LiteLLM, side by
side at each level: requests/s, p50/p99 latency (request start -> last
chunk), latency added over (a), and the gateway/LiteLLM requests/s ratio.
Targets: added p50 <= 2 ms at 50 concurrent; requests/s >= 2x LiteLLM at 200.
When LiteLLM cannot be installed or started, it says why and reports (a), (b).

The gateway's model uses `provider = "openai-compatible"` (our SSE parser over
our lean HTTP/1.1 client): the provider for any self-hosted server that speaks the
OpenAI wire, as this upstream does. `--sdk` adds a row for the same model on
`provider = "openai"` (the openai SDK, which parses every chunk with pydantic).

    python benchmarks/gateway.py [--sdk] [--no-litellm]   # or: make bench / run_all.py gateway

`--no-litellm` leaves LiteLLM's proxy out (no install, a run of about a minute).
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import _procs
import attrs
import openai
import trio

from abstractcore_actors.testing import RecordedRequest, Reply, open_fake_openai_server

CHUNKS = 50
TTFT = 0.020
MODEL = "gpt-test"
EXPECTED = "tok " * CHUNKS
MESSAGES = [{"role": "user", "content": "Hi"}]
# (concurrent streams, requests per round, rounds). Direct and gateway take
# turns, round by round, in alternating order, and their latencies are pooled:
# at 50 streams the load generator fills a core and a single run's p50 drifts
# by several ms between runs of the same path, more than the 2 ms target; turns
# give both paths the same drift. LiteLLM (~20 streams/s) runs one round per
# level, which keeps the whole run near 3 minutes.
LEVELS = ((1, 40, 1), (50, 200, 6), (200, 600, 1))
# The same streams paced as a model emits them (20 ms between tokens, ~1 s
# each): 50 of them keep the load generator well under a core, so the added
# latency there is the gateway's own, not the client's queue.
PACED_MODEL = "gpt-paced"
TOKEN_GAP = 0.020
PACED_LEVEL = (50, 150, 4)
ADDED_P50_TARGET = 0.002
RPS_RATIO_TARGET = 2.0


@attrs.frozen(kw_only=True)
class Target:
    label: str
    base_url: str
    api_key: str
    model: str
    pid: int | None = None  # the proxy's process (None: straight to the upstream)


@attrs.frozen(kw_only=True)
class Result:
    latencies: list[float]
    wall: float
    failures: int
    first_failure: str
    rounds: tuple[Result, ...] = ()
    # CPU seconds each process used during the run: client, upstream, proxy
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @classmethod
    def pooled(cls, rounds: list[Result]) -> Result:
        failures = [r.first_failure for r in rounds if r.first_failure]
        return cls(
            latencies=[x for r in rounds for x in r.latencies],
            wall=sum(r.wall for r in rounds),
            failures=sum(r.failures for r in rounds),
            first_failure=failures[0] if failures else "",
            rounds=tuple(rounds),
            cpu=tuple(sum(r.cpu[i] for r in rounds) for i in range(3)),  # type: ignore[arg-type]
        )

    def cpu_per_stream(self) -> tuple[float, float, float]:
        """Milliseconds of CPU per finished stream: client, upstream, proxy."""
        done = max(1, len(self.latencies))
        return tuple(c * 1000 / done for c in self.cpu)  # type: ignore[return-value]

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall

    def quantile(self, q: float) -> float:
        """The q-quantile of the latencies; NaN when every stream failed."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _one(client: openai.AsyncOpenAI, model: str) -> float:
    start = time.perf_counter()
    stream = await client.chat.completions.create(
        model=model,
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
    )
    parts = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    elapsed = time.perf_counter() - start
    if "".join(parts) != EXPECTED:  # a proxy that drops or merges tokens wrongly
        raise ValueError(f"wrong answer: {''.join(parts)[:60]!r}")
    return elapsed


async def run_level(
    client: openai.AsyncOpenAI, model: str, concurrency: int, total: int, ramp: float = 0.0
) -> Result:
    """`total` streams, `concurrency` at a time; failures are counted, not raised.

    The workers start spread over `ramp` seconds (about one stream's length):
    started all at once, equal streams end together and the next ones start
    together, so every server sees waves of `concurrency` requests in lockstep,
    which no real traffic keeps up and which mostly measures how a server
    queues a burst.
    """
    latencies: list[float] = []
    failures: list[str] = []
    left = total

    async def worker(i: int) -> None:
        nonlocal left
        await trio.sleep(i * ramp / concurrency)
        while left > 0:
            left -= 1
            try:
                latencies.append(await _one(client, model))
            except (openai.OpenAIError, ValueError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}"[:200])

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(concurrency):
            nursery.start_soon(worker, i)
    wall = time.perf_counter() - start
    return Result(
        latencies=latencies,
        wall=wall,
        failures=len(failures),
        first_failure=failures[0] if failures else "",
    )


async def timed_level(
    client: openai.AsyncOpenAI,
    target: Target,
    upstream_pid: int,
    model: str,
    concurrency: int,
    total: int,
    ramp: float,
) -> Result:
    """run_level, with the CPU each process spent on it (client, upstream, proxy)."""

    def now() -> tuple[float, float, float]:
        proxy = _procs.cpu_seconds(target.pid) if target.pid is not None else 0.0
        return time.process_time(), _procs.cpu_seconds(upstream_pid), proxy

    before = now()
    run = await run_level(client, model, concurrency, total, ramp)
    after = now()
    spent = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    return attrs.evolve(run, cpu=spent)


async def measure(targets: list[Target], upstream_pid: int) -> dict[tuple[str, int], Result]:
    clients = {
        t.label: openai.AsyncOpenAI(base_url=t.base_url, api_key=t.api_key, max_retries=0)
        for t in targets
    }
    results: dict[tuple[str, int], Result] = {}
    try:
        for concurrency, total, rounds in LEVELS:
            ramp = 0.0
            for t in targets:
                # a warm-up round opens this level's connections and fills
                # caches; the direct path's median latency is every path's
                # ramp, so all start their streams alike
                warm = await run_level(clients[t.label], t.model, concurrency, concurrency)
                if t.label == "direct":
                    ramp = _finite(warm.quantile(0.5))
            runs: dict[str, list[Result]] = {t.label: [] for t in targets}
            for turn in range(rounds):
                order = targets if turn % 2 == 0 else targets[::-1]
                for t in order:
                    if t.label == "litellm" and turn > 0:
                        continue
                    run = await timed_level(
                        clients[t.label], t, upstream_pid, t.model, concurrency, total, ramp
                    )
                    runs[t.label].append(run)
            for label, done in runs.items():
                results[label, concurrency] = Result.pooled(done)
        concurrency, total, rounds = PACED_LEVEL
        paced = [t for t in targets if t.label != "litellm"]  # it cannot keep 50/s up
        runs = {t.label: [] for t in paced}
        ramp = TTFT + CHUNKS * TOKEN_GAP  # a paced stream's length
        for turn in range(rounds):
            for t in paced if turn % 2 == 0 else paced[::-1]:
                run = await timed_level(
                    clients[t.label], t, upstream_pid, PACED_MODEL, concurrency, total, ramp
                )
                runs[t.label].append(run)
        for label, done in runs.items():
            results[f"paced {label}", concurrency] = Result.pooled(done)
    finally:
        for client in clients.values():
            await client.close()
    return results


def report(targets: list[Target], results: dict[tuple[str, int], Result]) -> None:
    labels = [t.label for t in targets]
    print(
        f"gateway: fake upstream {TTFT * 1000:.0f} ms to first token, {CHUNKS} chunks; "
        "each server in its own process on 127.0.0.1"
    )
    print(
        '  gateway: provider = "openai-compatible" (the provider for a self-hosted '
        "OpenAI-wire server)"
    )
    if "gateway-sdk" in labels:
        print('  gateway-sdk: the same model on provider = "openai" (the openai SDK)')
    print("  streams  path          req/s    p50 ms   p99 ms  +p50 ms  +p99 ms  failed")
    for concurrency, _, _ in LEVELS:
        base = results["direct", concurrency]
        for label in labels:
            r = results[label, concurrency]
            added = ""
            if label != "direct":
                d50 = (r.quantile(0.5) - base.quantile(0.5)) * 1000
                d99 = (r.quantile(0.99) - base.quantile(0.99)) * 1000
                added = f"{d50:8.2f} {d99:8.2f}"
            print(
                f"  {concurrency if label == 'direct' else '':>7}  {label:<11} {r.rps:9.1f} "
                f"{r.quantile(0.5) * 1000:9.2f} {r.quantile(0.99) * 1000:8.2f} "
                f"{added:<17} {r.failures:4d}/{len(r.latencies) + r.failures}"
            )
            if r.first_failure:
                print(f"           first failure: {r.first_failure}")
    gw50, d50 = results["gateway", 50], results["direct", 50]
    added = gw50.quantile(0.5) - d50.quantile(0.5)
    turns = sorted(
        (g.quantile(0.5) - d.quantile(0.5)) * 1000
        for g, d in zip(gw50.rounds, d50.rounds, strict=True)
    )
    print(
        f"  gateway added p50 at 50 concurrent: {added * 1000:.2f} ms over "
        f"{len(turns)} rounds pooled (one round alone: {turns[0]:.1f} to {turns[-1]:.1f}) "
        f"(target <= {ADDED_P50_TARGET * 1000:.0f} ms)  {_ok(added <= ADDED_P50_TARGET)}"
    )
    concurrency = PACED_LEVEL[0]
    print(
        f"  paced upstream ({TOKEN_GAP * 1000:.0f} ms between tokens, as a model streams), "
        f"{concurrency} concurrent:"
    )
    base = results["paced direct", concurrency]
    for label in labels:
        if (f"paced {label}", concurrency) not in results:
            continue
        r = results[f"paced {label}", concurrency]
        added = ""
        if label != "direct":
            d50 = (r.quantile(0.5) - base.quantile(0.5)) * 1000
            d99 = (r.quantile(0.99) - base.quantile(0.99)) * 1000
            added = f"{d50:8.2f} {d99:8.2f}"
        print(
            f"  {concurrency if label == 'direct' else '':>7}  {label:<11} {r.rps:9.1f} "
            f"{r.quantile(0.5) * 1000:9.2f} {r.quantile(0.99) * 1000:8.2f} "
            f"{added:<17} {r.failures:4d}/{len(r.latencies) + r.failures}"
        )
    _report_cpu(labels, results)
    if "litellm" not in labels:
        return
    for concurrency, _, _ in LEVELS:
        ratio = results["gateway", concurrency].rps / results["litellm", concurrency].rps
        target = ""
        if concurrency == 200:
            target = f"  (target >= {RPS_RATIO_TARGET:.1f})  {_ok(ratio >= RPS_RATIO_TARGET)}"
        print(f"  req/s gateway/LiteLLM at {concurrency:>3} concurrent: {ratio:6.2f}{target}")


def _report_cpu(labels: list[str], results: dict[tuple[str, int], Result]) -> None:
    # Two cores are shared by three processes: what each spends per stream
    # says how much of the added latency is one process waiting for another's
    # core (the load generator, an AsyncOpenAI client, is the heaviest).
    print("  CPU per stream, ms (client = this AsyncOpenAI load generator; 2 cores for all):")
    print("  streams  path          client  upstream   proxy   (busy: client's share of a core)")
    rows = [(c, c) for c, _, _ in LEVELS] + [(f"paced {PACED_LEVEL[0]}", PACED_LEVEL[0])]
    for name, concurrency in rows:
        for label in labels:
            key = (
                (f"paced {label}", concurrency)
                if str(name).startswith("paced")
                else (label, concurrency)
            )
            if key not in results:
                continue
            r = results[key]
            client, upstream, proxy = r.cpu_per_stream()
            busy = r.cpu[0] / r.wall * 100 if r.wall else float("nan")
            shown = "" if label == "direct" else f"{proxy:7.2f}"
            print(
                f"  {str(name) if label == 'direct' else '':>8} {label:<11} {client:8.2f} "
                f"{upstream:9.2f} {shown:>7}   ({busy:.0f}%)"
            )


def _finite(seconds: float) -> float:
    return seconds if seconds == seconds and seconds < float("inf") else 0.0


def _ok(good: bool) -> str:
    return "ok" if good else "MISSED"


def _gateway_config(path: Path, upstream: str, provider: str) -> None:
    # max_concurrent: the provider's default (16) would queue 200 streams; LiteLLM
    # has no such limit, so both get room for every stream of the benchmark.
    path.write_text(
        "".join(
            f"[models.{name}]\n"
            f'provider = "{provider}"\n'
            f'model = "{name}"\n'
            f'options = {{ base_url = "{upstream}", api_key = "sk-upstream-bench", '
            "max_concurrent = 512, max_retries = 0 }\n"
            for name in (MODEL, PACED_MODEL)
        )
    )


def _start_gateway(
    stack: ExitStack, tmp: Path, upstream: str, provider: str, label: str
) -> tuple[str, int]:
    """The gateway's base URL and process id."""
    config, port = tmp / f"{label}.toml", _procs.free_port()
    log = _procs.CACHE / "logs" / f"{label}.log"
    _gateway_config(config, upstream, provider)
    command = _procs.gateway_command(config, port)
    proc = stack.enter_context(_procs.running(command, log, _procs.gateway_env()))
    _procs.wait_ready(proc, f"http://127.0.0.1:{port}/health", log)
    return f"http://127.0.0.1:{port}/v1", proc.pid


def main(sdk: bool, litellm: bool = True) -> None:
    logs = _procs.CACHE / "logs"
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gwbench-")))
        url_file = tmp / "upstream-url"
        log = logs / "upstream.log"
        command = _procs.upstream_command(url_file)
        up = stack.enter_context(_procs.running(command, log, _procs.gateway_env()))
        upstream = _procs.read_url(up, url_file, log)
        targets = [Target(label="direct", base_url=upstream, api_key="sk-bench", model=MODEL)]

        for label, provider in (("gateway", "openai-compatible"), ("gateway-sdk", "openai")):
            if label == "gateway-sdk" and not sdk:
                continue
            url, pid = _start_gateway(stack, tmp, upstream, provider, label)
            targets.append(
                Target(label=label, base_url=url, api_key="sk-bench", model=MODEL, pid=pid)
            )

        try:
            if not litellm:
                raise _procs.StartFailed("--no-litellm")
            exe = _procs.install_litellm()
            config, port, log = tmp / "litellm.yaml", _procs.free_port(), logs / "litellm.log"
            _procs.litellm_config(config, upstream, MODEL)
            master = "sk-" + secrets.token_urlsafe(32)
            command = _procs.litellm_command(exe, config, port)
            proc = stack.enter_context(_procs.running(command, log, _procs.litellm_env(master)))
            _procs.wait_ready(
                proc,
                f"http://127.0.0.1:{port}/health/readiness",
                log,
                headers={"Authorization": f"Bearer {master}"},
            )
            litellm_url = f"http://127.0.0.1:{port}/v1"
            targets.append(
                Target(
                    label="litellm", base_url=litellm_url, api_key=master, model=MODEL, pid=proc.pid
                )
            )
        except _procs.StartFailed as exc:
            print(f"  LiteLLM's proxy is left out: {exc}")
            print("  reporting (a) direct and (b) gateway only")

        results = trio.run(measure, targets, up.pid)
    report(targets, results)


async def _serve_upstream(url_file: Path) -> None:
    fast = Reply(chunks=["tok "] * CHUNKS, ttft=TTFT)
    paced = Reply(chunks=["tok "] * CHUNKS, ttft=TTFT, token_latency=TOKEN_GAP)

    def reply(request: RecordedRequest) -> Reply:
        body = request.json
        return paced if isinstance(body, dict) and body.get("model") == PACED_MODEL else fast

    async with open_fake_openai_server(reply) as server:
        partial = url_file.with_suffix(".part")
        partial.write_text(server.base_url)
        partial.replace(url_file)  # atomic: the parent never reads half a URL
        await trio.sleep_forever()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--upstream"]:
        trio.run(_serve_upstream, Path(sys.argv[2]))
    elif {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
    else:
        main(sdk="--sdk" in sys.argv[1:], litellm="--no-litellm" not in sys.argv[1:])
