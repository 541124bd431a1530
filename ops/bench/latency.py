"""Window end -> first page, in real time on `logwarden up` (issue #19).

The promise: an error line reaches its first page within 5 s of its 60-second window
closing (window end + allowed lateness, 5 s by default), p99, whatever the model does.

For each provider case this starts `logwarden up` as a child (embedded Tansu, worker,
ticks, web on a free port, data dir in a temp folder, working directory the repository
so the runbook index is found), then for `--minutes`:
  - steady traffic: 6 background services with an info line every 0.2 s each, and every
    burst service with an info line every 2 s (so each burst lands on a service that
    had clean windows before it);
  - 4 bursts a minute, each on its own service (an incident resolves only after 5 clean
    windows, so a service cannot carry a second burst within a run): 4 `error` lines
    0.3 s apart (a database error: P2 by the built-in rules), or, once a minute, one
    `fatal` line (P1), in another slot of the minute each minute;
  - a watcher reads the console channel's `notifications.jsonl` (where a user reads it)
    every 50 ms and takes the wall time at which each burst service's first `alert`
    line appears.
Measured per burst: first alert - end of the window holding the first error line (error
bursts), and for fatal bursts first alert - the fatal line: a fatal line takes the fast
path (`[extract] fatal_levels`, `fatal_patterns`) and pages before its window closes.
Every alert line is counted, so a fatal burst paged a second time when its window closed
shows (`fatal repeats`).

Cases: `local` (the built-in answerer), `anthropic-2s` (a local fake of the Messages API
answering after 2 s), `anthropic-silent` (a fake that never answers; the provider's
20 s timeout bounds each call). Every process and port is on 127.0.0.1.

    python -m ops.bench.latency [--minutes 8] [--cases local,anthropic-2s,anthropic-silent] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from streams.brokers.base import free_port
from streams.kafka import client
from tests.e2e.harness import base_env, get_json
from tests.e2e.test_ai_e2e import ThreadedFake
from tests.e2e.test_latency_e2e import API_KEY, _model_answer

CASES = ("local", "anthropic-2s", "anthropic-silent")
REPO = Path(__file__).resolve().parents[2]
LATENESS_S = 5.0  # extract.allowed_lateness_s, left at its default
TARGET_S = LATENESS_S + 5.0  # window end -> first page, p99
BACKGROUND = [f"bg-{name}" for name in ("api", "web", "search", "cart", "auth", "mailer")]
BURSTS_PER_MINUTE = 4
SILENT_S = 3600.0  # longer than any run: the fake never answers, the provider times out


@dataclass
class Burst:
    service: str
    fatal: bool
    at: float  # wall time planned for its first line
    first_line: float = 0.0  # `ts` of its first error line (= wall time sent)
    alerted: float = 0.0  # wall time its first alert line was seen
    alerts: int = 0  # alert lines seen for its service

    @property
    def window_end(self) -> float:
        return math.floor(self.first_line / 60) * 60 + 60


@dataclass
class CaseRun:
    case: str
    bursts: list[Burst]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    unexpected_alerts: list[str] = field(default_factory=list)

    def latencies(self, fatal_only: bool = False, from_line: bool = False) -> list[float]:
        """Fatal bursts only, or (default) the window-bound error bursts only."""
        return [b.alerted - (b.first_line if from_line else b.window_end)
                for b in self.bursts if b.alerted and b.fatal == fatal_only]

    @property
    def fatal_repeats(self) -> int:
        """Alerts of fatal bursts beyond the first: the window closing must not page again."""
        return sum(b.alerts - 1 for b in self.bursts if b.fatal and b.alerts > 1)

    @property
    def missing(self) -> list[str]:
        return [b.service for b in self.bursts if not b.alerted]


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: with n < 100 the p99 is the maximum, never an interpolation below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def plan_bursts(start: float, minutes: int, seed: int) -> list[Burst]:
    """4 bursts in each minute but the last (left for the last windows to close), at
    staggered seconds so windows hold first errors early, mid and late in the minute."""
    rnd = random.Random(seed)
    bursts = []
    for minute in range(minutes - 1):
        for slot in range(BURSTS_PER_MINUTE):
            second = 4 + slot * 14 + rnd.uniform(0, 8)  # 4..54 s: a burst never straddles a minute
            n = len(bursts)
            # One fatal burst a minute, in a different slot each minute: its first line ->
            # page depends on where in its window it falls.
            bursts.append(Burst(f"burst-{n:02d}", fatal=slot == minute % BURSTS_PER_MINUTE,
                                at=start + minute * 60 + second))
    return bursts


def _line(service: str, ts: float, level: str, msg: str, **extra: str) -> bytes:
    return json.dumps({"ts": round(ts, 3), "level": level, "service": service, "msg": msg, **extra}).encode()


async def traffic(bootstrap: str, bursts: list[Burst], until: float) -> None:
    """Info lines of every service, the bursts at their times, all with real-time stamps."""
    producer = await client.started(client.producer(bootstrap), bootstrap)
    pending = sorted(bursts, key=lambda b: b.at)
    tick = 0
    try:
        while time.time() < until:
            now = time.time()
            services = BACKGROUND + ([b.service for b in bursts] if tick % 10 == 0 else [])
            for i, service in enumerate(services):
                await producer.send("logs.raw", _line(service, now, "info", f"GET /api/items/{1000 + i} 200 in 12ms"),
                                    key=service.encode(), timestamp_ms=int(now * 1000))
            while pending and pending[0].at <= now:
                burst = pending.pop(0)
                asyncio.get_running_loop().create_task(_burst(producer, burst))
            tick += 1
            await asyncio.sleep(max(0.0, 0.2 - (time.time() - now)))
    finally:
        await producer.flush()
        await client.quiet_stop(producer)


async def _burst(producer, burst: Burst) -> None:  # noqa: ANN001 - an AIOKafkaProducer
    key = burst.service.encode()
    lines = 1 if burst.fatal else 4
    for i in range(lines):
        ts = time.time()
        if i == 0:
            burst.first_line = ts
        if burst.fatal:
            line = _line(burst.service, ts, "fatal", "worker process died: cannot allocate memory", error="MemoryError")
        else:
            line = _line(burst.service, ts, "error", "could not connect to server: Connection refused (db:5432)",
                         error="psycopg2.OperationalError")
        await producer.send("logs.raw", line, key=key, timestamp_ms=int(ts * 1000))
        await asyncio.sleep(0.3)


async def watch_alerts(path: Path, bursts: list[Burst], unexpected: list[str], until: float) -> None:
    """Where a user reads the page: the console channel's JSON lines, read every 50 ms."""
    by_service = {b.service: b for b in bursts}
    offset, rest = 0, b""
    # Read until `until` even once every burst paged: a second page of a fatal burst,
    # when its window closes, must show.
    while time.time() < until:
        await asyncio.sleep(0.05)
        try:
            with path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            continue
        seen = time.time()
        offset += len(chunk)
        *lines, rest = (rest + chunk).split(b"\n")
        for raw in lines:
            msg = json.loads(raw)
            if msg.get("kind") != "alert":
                continue
            burst = by_service.get(msg.get("service"))
            if burst is None:
                unexpected.append(f"{msg.get('service')}: {msg.get('title')}")
            else:
                burst.alerts += 1
                if not burst.alerted:
                    burst.alerted = seen


class UpProcess:
    """`logwarden up` as a child, exactly as a user starts it, in its own session."""

    def __init__(self, env: dict[str, str], data_dir: Path) -> None:
        self.env, self.data_dir = env, data_dir
        self.url = f"http://127.0.0.1:{env['LOGWARDEN_WEB_PORT']}"
        self.log = data_dir.parent / "up.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> str:
        """Start it; the embedded broker's address once the worker owns partitions."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "up"], env=self.env, cwd=REPO,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"logwarden up exited {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, ValueError, KeyError):
                if get_json(self.url + "/healthz").get("assigned_partitions", 0) > 0:
                    return json.loads((self.data_dir / "broker.json").read_text())["bootstrap"]
            time.sleep(0.5)
        raise RuntimeError(f"logwarden up not ready in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, n: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # Ctrl-C's path: worker leaves its group, then the broker stops
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def _env(tmp: Path, case: str, model_url: str) -> dict[str, str]:
    extra = {"LOGWARDEN_WEB_PORT": str(free_port()), "LOGWARDEN_NOTIFY__CONSOLE__PRINT": "false"}
    if case != "local":
        # Budgets high enough that every request really goes to the (fake) model.
        extra.update(LOGWARDEN_AI__PROVIDER="anthropic", LOGWARDEN_AI__BASE_URL=model_url,
                     LOGWARDEN_AI__API_KEY=API_KEY, LOGWARDEN_AI__MAX_CALLS_PER_HOUR="100000",
                     LOGWARDEN_AI__MAX_TOKENS_PER_HOUR="100000000")
    env = base_env(tmp, "", f"bench-latency-{case}", **extra)
    env.pop("LOGWARDEN_BROKER")  # `up` starts its embedded broker
    return env


def run_case(case: str, minutes: int, seed: int, keep: bool) -> CaseRun:
    tmp = Path(tempfile.mkdtemp(prefix=f"lw-latency-{case}-"))
    model = None
    if case != "local":
        model = ThreadedFake(delay_s=2.0 if case == "anthropic-2s" else SILENT_S)
        model.server.replies = [_model_answer] * 100_000
    with model if model is not None else contextlib.nullcontext() as fake:
        env = _env(tmp, case, fake.base_url if fake is not None else "")
        up = UpProcess(env, tmp / "lw")
        try:
            bootstrap = up.start()
            # Warm up 45 s at least on the traffic, bursts from the next whole minute on.
            start = math.ceil((time.time() + 45) / 60) * 60
            bursts = plan_bursts(start, minutes, seed)
            run = CaseRun(case, bursts, os.getloadavg())
            stop_traffic = start + minutes * 60
            last_close = max(b.at for b in bursts) // 60 * 60 + 60 + LATENESS_S
            print(f"[{case}] up on {bootstrap}; {len(bursts)} bursts from {_clock(start)}, "
                  f"traffic until {_clock(stop_traffic)}", file=sys.stderr)

            async def main() -> None:
                await asyncio.gather(
                    traffic(bootstrap, bursts, stop_traffic),
                    watch_alerts(env_path(env), bursts, run.unexpected_alerts, max(stop_traffic, last_close + 60)))

            asyncio.run(main())
            run.load_after = os.getloadavg()
        finally:
            up.stop()
    if not keep:
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
    else:
        print(f"[{case}] kept {tmp}", file=sys.stderr)
    return run


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def env_path(env: dict[str, str]) -> Path:
    return Path(env["LOGWARDEN_DATA_DIR"]) / "notifications.jsonl"


def summarise(runs: list[CaseRun]) -> dict:
    """Per case: the medians over runs of p50, p99 and max."""
    out = {}
    for case in dict.fromkeys(r.case for r in runs):
        mine = [r for r in runs if r.case == case]

        def stats(fatal_only: bool = False, from_line: bool = False) -> dict:
            per_run = [r.latencies(fatal_only, from_line) for r in mine]
            per_run = [v for v in per_run if v]
            if not per_run:
                return {"n": 0}
            return {"n": sum(len(v) for v in per_run),
                    "p50": statistics.median(statistics.median(v) for v in per_run),
                    "p99": statistics.median(percentile(v, 99) for v in per_run),
                    "max": statistics.median(max(v) for v in per_run)}

        out[case] = {"runs": len(mine), "window_end": stats(),
                     "fatal_window_end": stats(fatal_only=True),
                     "fatal_line": stats(fatal_only=True, from_line=True),
                     "missing": sum(len(r.missing) for r in mine),
                     "fatal_repeats": sum(r.fatal_repeats for r in mine),
                     "unexpected_alerts": sum(len(r.unexpected_alerts) for r in mine),
                     "load": [[round(x, 2) for x in r.load_before] + [round(x, 2) for x in r.load_after]
                              for r in mine]}
    return out


def table(summary: dict) -> str:
    rows = ["| provider case | n | window end → first alert p50 / p99 / max (s) "
            "| fatal: first line → first alert p50 / max (s) | fatal repeats | missed |",
            "|---|---|---|---|---|---|"]
    for case, s in summary.items():
        w, f = s["window_end"], s["fatal_line"]
        fatal = f"{f['p50']:.1f} / {f['max']:.1f} (n={f['n']})" if f["n"] else "-"
        main = f"{w['p50']:.2f} / {w['p99']:.2f} / {w['max']:.2f}" if w["n"] else "-"
        rows.append(f"| {case} | {w['n']} | {main} | {fatal} | {s['fatal_repeats']} | {s['missing']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=8, help="traffic per case; bursts in all minutes but the last")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--runs", type=int, default=1, help="runs per case; the table quotes medians over runs")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--json", type=Path, help="also write every burst and the summary here")
    parser.add_argument("--keep", action="store_true", help="keep each case's data dir (logs, notifications)")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown or args.minutes < 2:
        parser.error(f"unknown case(s) {unknown}; known: {list(CASES)}" if unknown else "--minutes must be >= 2")
    runs: list[CaseRun] = []
    for n in range(args.runs):
        for case in cases:
            run = run_case(case, args.minutes, args.seed + n, args.keep)
            runs.append(run)
            lat, fatal = run.latencies(), run.latencies(fatal_only=True, from_line=True)
            p50 = statistics.median(lat) if lat else float("nan")
            print(f"[{case}] run {n + 1}: {len(lat) + len(fatal)}/{len(run.bursts)} paged; window end -> page "
                  f"p50 {p50:.2f} s max {max(lat, default=float('nan')):.2f} s; fatal line -> page "
                  f"{[round(v, 2) for v in fatal]} s, repeats {run.fatal_repeats}; "
                  f"load {run.load_before[0]:.2f} -> {run.load_after[0]:.2f}; unexpected {run.unexpected_alerts[:3]}",
                  file=sys.stderr)
    summary = summarise(runs)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": [
            {"case": r.case, "bursts": [vars(b) for b in r.bursts]} for r in runs]}, indent=1))
    print(table(summary))
    target_met = all(s["window_end"]["n"] and s["window_end"]["p99"] <= TARGET_S
                     and not s["missing"] for s in summary.values())
    print(f"\ntarget: p99 <= {TARGET_S:.0f} s after window end in every case: {'met' if target_met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
