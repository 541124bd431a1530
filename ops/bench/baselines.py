"""False alarms and catches of the baselines on a synthetic but realistic month.

Four services with daily and weekly patterns (a web API, payments, search, a nightly
batch job), a probe (queue depth) and a host metric (CPU), with multiplicative noise
that wanders slowly (AR(1) on the log level), Poisson line counts, over-dispersed
error counts (gamma-Poisson), 2 % growth a week. Three weeks of warm-up, then one
measured week replayed twice in event time through the pure baseline code
(`agents.baselines.book.MemoryBook`, the code the stage runs): once as is (every
finding is a false alarm), once with 5 planted anomalies (each must be caught by a
finding on its series between its start and two windows after its end).

Usage: python -m ops.bench.baselines [--seed N]
Deterministic for a seed; reads and writes nothing.
"""

from __future__ import annotations

import argparse
import copy
import math
import random
import time
from dataclasses import dataclass
from typing import Iterator

from agents.baselines.book import MemoryBook
from agents.baselines.config import BaselinesConfig
from schemas.records import CheckResult, WindowSummary

__all__ = ["ANOMALIES", "Traffic", "main", "measure"]

MONDAY = 1772409600.0  # 2026-03-02T00:00:00Z
WEEK_MIN = 7 * 1440
WARMUP_WEEKS = 3

# service: (peak lines/min, night lines/min, error ratio, weekend factor, shape)
SERVICES = {
    "api": (1200.0, 120.0, 0.0015, 0.45, "office"),
    "payments": (300.0, 25.0, 0.003, 0.6, "office"),
    "search": (600.0, 90.0, 0.001, 0.8, "evening"),
    "batch": (800.0, 15.0, 0.002, 1.0, "nightly"),
}


@dataclass(frozen=True)
class Anomaly:
    name: str
    service: str
    series: str  # baseline series that must catch it
    day: int  # 0 = Monday of the measured week
    hour: int
    minutes: int


ANOMALIES = (
    Anomaly("api error spike, Sunday 04:00 (25 errors/min for 6 min)", "api", "errors_per_min", 6, 4, 6),
    Anomaly("payments silent, Tuesday 11:00 (10 min)", "payments", "lines_per_min", 1, 11, 10),
    Anomaly("search volume drop to 35 %, Thursday 15:00 (15 min)", "search", "lines_per_min", 3, 15, 15),
    Anomaly("queue depth 400 jobs, Wednesday 02:00 (10 min)", "api", "probe:queue_depth@worker-1", 2, 2, 10),
    Anomaly("CPU 96 % on db-1, Saturday 03:00 (10 min)", "payments", "cpu.cpu_percent@db-1", 5, 3, 10),
)


def _shape(kind: str, hour: float) -> float:
    """0..1 activity by hour of day."""
    if kind == "office":  # ramps 07-10, lunch dip, fades after 18
        base = math.exp(-((hour - 13.5) / 4.0) ** 2)
        return max(0.0, base - 0.08 * math.exp(-((hour - 12.5) / 0.6) ** 2))
    if kind == "evening":
        return math.exp(-((hour - 20.0) / 3.5) ** 2) * 0.8 + math.exp(-((hour - 12.0) / 3.0) ** 2) * 0.4
    return 1.0 if 2 <= hour < 4 else 0.0  # nightly batch


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


class Traffic:
    """The minute-by-minute records of the synthetic month (deterministic for a seed)."""

    def __init__(self, seed: int):
        self.seed = seed

    def minutes(self, first: int, count: int, planted: bool) -> Iterator[list[WindowSummary | CheckResult]]:
        rng = random.Random(self.seed * 1000 + first)
        wander = {name: 0.0 for name in [*SERVICES, "queue", "cpu"]}
        for minute in range(first, first + count):
            t0 = MONDAY + minute * 60
            hour = (minute % 1440) / 60.0
            weekday = (minute // 1440) % 7
            growth = 1.02 ** (minute / WEEK_MIN)
            for name in wander:
                wander[name] = 0.985 * wander[name] + rng.gauss(0.0, 0.012)
            out: list[WindowSummary | CheckResult] = []
            for name, (peak, night, ratio, weekend, kind) in SERVICES.items():
                level = night + (peak - night) * _shape(kind, hour)
                if weekday >= 5 and kind != "nightly":
                    level *= weekend
                lam = level * growth * math.exp(wander[name])
                lines = _poisson(rng, lam)
                errors = _poisson(rng, lines * ratio * rng.gammavariate(4.0, 0.25))
                out.append(self._window(name, t0, lines, errors))
            load = _shape("office", hour) * (0.5 if weekday >= 5 else 1.0)
            depth = _poisson(rng, (6 + 40 * load) * math.exp(wander["queue"]))
            cpu = min(100.0, max(0.0, 12 + 55 * load * math.exp(wander["cpu"]) + rng.gauss(0, 3)))
            out.append(CheckResult(id=f"q{minute}", check="probe:queue_depth", service="api", host="worker-1",
                                   kind="probe", status="ok", metrics={"queue_depth": float(depth)},
                                   units={"queue_depth": "jobs"}, at=t0 + 60))
            out.append(CheckResult(id=f"c{minute}", check="cpu", service="payments", host="db-1", status="ok",
                                   metrics={"cpu_percent": round(cpu, 1)}, units={"cpu_percent": "%"}, at=t0 + 60))
            yield self._plant(out, minute - first) if planted else out

    @staticmethod
    def _window(service: str, t0: float, lines: int, errors: int) -> WindowSummary:
        status = "silent" if lines == 0 else ("errors" if errors else "clean")
        return WindowSummary(id=f"{service}|{t0:.0f}|1", service=service, window_start=t0, window_end=t0 + 60,
                             status=status, lines=lines, errors=min(errors, lines))

    @staticmethod
    def _plant(records: list, minute_of_week: int) -> list:
        out = []
        for record in records:
            for a in ANOMALIES:
                start = (a.day * 24 + a.hour) * 60
                if not start <= minute_of_week < start + a.minutes:
                    continue
                if isinstance(record, WindowSummary) and record.service == a.service:
                    if a.series == "errors_per_min":
                        record = record.model_copy(update={"errors": 25, "status": "errors"})
                    elif a.name.startswith("payments silent"):
                        record = record.model_copy(update={"lines": 0, "errors": 0, "status": "silent"})
                    elif a.series == "lines_per_min":
                        record = record.model_copy(update={"lines": round(record.lines * 0.35)})
                elif isinstance(record, CheckResult) and record.check == "probe:queue_depth" and "queue" in a.name:
                    record = record.model_copy(update={"metrics": {"queue_depth": 400.0}})
                elif isinstance(record, CheckResult) and record.check == "cpu" and "CPU" in a.name:
                    record = record.model_copy(update={"metrics": {"cpu_percent": 96.0}})
            out.append(record)
        return out


def _replay(book: MemoryBook, records: Iterator[list]) -> list[CheckResult]:
    found = []
    for minute in records:
        for record in minute:
            found += [r for r in book.feed(record) if r.status == "fail"]
    return found


def measure(seed: int = 7, cfg: BaselinesConfig | None = None) -> dict:
    cfg = cfg or BaselinesConfig()
    traffic = Traffic(seed)
    book = MemoryBook(cfg)
    started = time.monotonic()
    warmup = _replay(book, traffic.minutes(0, WARMUP_WEEKS * WEEK_MIN, planted=False))
    first = WARMUP_WEEKS * WEEK_MIN
    quiet = _replay(copy.deepcopy(book), traffic.minutes(first, WEEK_MIN, planted=False))
    planted = _replay(book, traffic.minutes(first, WEEK_MIN, planted=True))
    week0 = MONDAY + first * 60
    caught = {}
    for a in ANOMALIES:
        start = week0 + (a.day * 24 + a.hour) * 3600
        end = start + (a.minutes + 2) * 60 + 60
        hits = [r for r in planted if r.service == a.service and r.check == f"baseline:{a.series}"
                and start < r.at <= end]
        caught[a.name] = hits[0].message if hits else ""
    return {"seed": seed, "warmup_week_findings": [
        sum(1 for r in warmup if MONDAY + w * WEEK_MIN * 60 <= r.at < MONDAY + (w + 1) * WEEK_MIN * 60)
        for w in range(WARMUP_WEEKS)], "quiet_findings": quiet, "planted_findings": planted, "caught": caught,
        "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    result = measure(args.seed)
    print(f"seed {result['seed']}: findings per warm-up week {result['warmup_week_findings']}")
    print(f"measured week, no anomaly: {len(result['quiet_findings'])} finding(s)")
    for r in result["quiet_findings"]:
        print(f"  false alarm: {r.service} {r.check}: {r.message}")
    caught = sum(1 for m in result["caught"].values() if m)
    print(f"measured week, {len(ANOMALIES)} planted: {caught} caught, "
          f"{len(result['planted_findings']) - caught} other finding(s)")
    for name, message in result["caught"].items():
        print(f"  {'caught' if message else 'MISSED'}: {name}" + (f" -> {message}" if message else ""))
    print(f"({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
