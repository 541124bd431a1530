"""Bytes the incident stage writes to its changelog, per minute, beside the event rate.

Plays a generated stream through the incident stage's own fold (`agents.incidents.fold`:
the code the stage shell runs, without Faust) with the rest of the pipeline answered in
process: AI requests by the local provider (`agents.ai.service.AIService`, as the ai
stage does with `provider = "local"`), outbox messages by a delivered receipt (tickets
get a Jira key), clock ticks every 2 s on each of 4 partitions (as the ticks stage
writes them). Input: `--services` services at `--rate` lines/s in all, `--error-share`
of them errors spread over four exception types and six routes per service (a new
route now and then), for `--minutes` minutes of event time, as window summaries with
findings (three samples each, real traceback text), the way extraction publishes them.

For each table write the fold asks for, it counts the value's JSON bytes; the same
stream is measured under the layout in use (`agents.incidents.layout`: one key per
part of a service's state, a part written only when it changed) and under the previous
layout (the whole `ServiceState` under the service's key on every change), so the
baseline runs in the same process on the same stream.

    python -m ops.bench.state_writes [--services 20] [--rate 2000] [--minutes 5] [--error-share 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agents.ai.config import AIConfig
from agents.ai.service import AIService
from agents.incidents.config import IncidentsConfig
from agents.incidents.fold import PartTable, StateCache, fold_clock, fold_record
from schemas.effects import Publish, Store
from schemas.records import AIRequest, Clock, Finding, OutboxMessage, Receipt, WindowSummary

PARTITIONS = 4
TICK_S = 2.0
_ERRORS = [
    ("psycopg2.OperationalError", "could not connect to server: Connection refused\n\tIs the server running on "
                                  "host \"db\" (10.0.0.7) and accepting TCP/IP connections on port 5432?"),
    ("redis.exceptions.TimeoutError", "Timeout reading from socket"),
    ("KeyError", "'customer_id'"),
    ("ValueError", "invalid literal for int() with base 10: 'abc'"),
]
_ROUTES = ["GET /api/users/{id}", "POST /api/orders/{id}/items", "POST /v1/payments/{id}", "GET /api/search",
           "GET /api/cart/{id}", "PUT /api/cart/{id}"]


def _traceback(exc: str, msg: str, route: str, n: int) -> str:
    return "\n".join([
        f"2026-11-24 10:00:{n % 60:02d},123 ERROR [api] {route.replace('{id}', str(4000 + n))} failed",
        "Traceback (most recent call last):",
        '  File "/srv/app/views.py", line 88, in handle',
        "    result = service.run(request)",
        '  File "/srv/app/service.py", line 140, in run',
        "    return self.repo.save(order)",
        '  File "/srv/app/db.py", line 41, in connect',
        "    return driver.connect(dsn)",
        f"{exc}: {msg}",
    ])


def windows(services: int, rate: float, minutes: int, error_share: float, seed: int,
            t0: float) -> list[WindowSummary]:
    rnd = random.Random(seed)
    names = [f"svc-{i:02d}" for i in range(services)]
    per_window = int(rate * 60 / services)
    out = []
    for m in range(minutes):
        start = t0 + m * 60
        for svc in names:
            errors = sum(1 for _ in range(per_window) if rnd.random() < error_share)
            by_fp: Counter = Counter()
            for _ in range(errors):
                exc, msg = _ERRORS[rnd.randrange(len(_ERRORS))]
                route = _ROUTES[rnd.randrange(len(_ROUTES))] if rnd.random() < 0.98 else f"GET /api/v{m}/x"
                by_fp[(exc, msg, route)] += 1
            findings = []
            for n, ((exc, msg, route), count) in enumerate(sorted(by_fp.items())):
                fp = f"fp1:{abs(hash((svc, exc, route))) % 10**12:012d}"
                sample = _traceback(exc, msg, route, n)
                findings.append(Finding(fingerprint=fp, service=svc, endpoint=route, error_type=exc,
                                        template=f"{exc}: <*>", title=f"{exc}: {msg.splitlines()[0]}",
                                        count=count, first_seen=start + 1, last_seen=start + 59,
                                        samples=[sample] * min(3, count)))
            out.append(WindowSummary(id=f"{svc}|{start:.0f}|1", service=svc, window_start=start, window_end=start + 60,
                                     status="errors" if findings else "clean", lines=per_window, errors=errors,
                                     findings=findings))
    return out


@dataclass
class Tally:
    events: int = 0  # incidents.events published
    inputs: int = 0  # records folded (windows, AI results, receipts, ticks)
    writes: int = 0
    deletes: int = 0  # of the writes, tombstones (a part replaced or gone)
    bytes: int = 0
    largest: int = 0
    fold_s: float = 0.0  # CPU time in the incident stage's fold (the AI stage's answers not included)
    by_part: Counter = field(default_factory=Counter)

    def store(self, key: str, value: Any) -> None:
        size = len(json.dumps(value, separators=(",", ":"))) if value is not None else 0
        self.writes += 1
        self.bytes += size
        self.largest = max(self.largest, size)
        self.deletes += value is None
        # A part's name without its version (`layout.py`: `<service>\x1f<name>#<version>`).
        self.by_part[key.split("\x1f")[1].split("#")[0] if "\x1f" in key else "core"] += size


class _Dict(dict):
    """A plain table (what a Faust table looks like to the fold)."""


async def play(stream: list[WindowSummary], layout: str, cfg: IncidentsConfig, cache: StateCache | None = None,
               trace: list | None = None) -> Tally:
    """Fold the stream; with `trace`, every effect is appended to it as JSON types."""
    tally = Tally()
    table: PartTable = _Dict()
    ai = AIService(AIConfig(provider="local"))
    partition_of = {s: i % PARTITIONS for i, s in enumerate(sorted({w.service for w in stream}))}
    seq = itertools.count()
    queue: list[tuple[float, int, Any]] = []
    for w in stream:  # a window is published when it closes (its end plus the allowed lateness)
        heapq.heappush(queue, (w.window_end + 5.0, next(seq), w))
    end = max(w.window_end for w in stream) + 120
    at = min(w.window_start for w in stream)
    while at <= end:
        for p in range(PARTITIONS):
            heapq.heappush(queue, (at, next(seq), (p, Clock(id=f"clock|{p}|{at:.0f}", at=at))))
        at += TICK_S
    while queue:
        when, _n, item = heapq.heappop(queue)
        tally.inputs += 1
        started = time.process_time()
        if isinstance(item, tuple):
            effects = fold_clock(table, item[0], item[1], cfg, layout=layout)
        else:
            _state, effects = fold_record(table, item, partition_of[item.service], cfg, layout=layout, cache=cache)
        tally.fold_s += time.process_time() - started
        if trace is not None:
            trace += [(e.key, e.value) if isinstance(e, Store) else
                      (e.topic, e.key, e.record.model_dump(mode="json")) if isinstance(e, Publish) else repr(e)
                      for e in effects]
        for effect in effects:
            if isinstance(effect, Store):
                tally.store(effect.key, effect.value)
                if effect.value is None:
                    table.pop(effect.key, None)
                else:
                    table[effect.key] = effect.value
            elif isinstance(effect, Publish):
                record = effect.record
                if effect.topic == "incidents.events":
                    tally.events += 1
                elif isinstance(record, AIRequest):
                    result, _audit = await ai.handle(record)
                    heapq.heappush(queue, (when + 0.5, next(seq), result))
                elif isinstance(record, OutboxMessage):
                    ref = f"OPS-{next(seq)}" if record.kind in ("ticket_create", "oneoff_ticket") else ""
                    heapq.heappush(queue, (when + 0.5, next(seq), Receipt(
                        id=f"r|{record.key}", key=record.key, channel="jira" if ref else "slack",
                        service=record.service, status="delivered", incident_id=record.incident_id,
                        kind=record.kind, external_ref=ref, at=record.at)))
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--rate", type=float, default=2000.0, help="lines/s over all services")
    ap.add_argument("--minutes", type=int, default=5)
    ap.add_argument("--error-share", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    cfg = IncidentsConfig()
    stream = windows(args.services, args.rate, args.minutes, args.error_share, args.seed, t0=1_790_000_040.0)
    print(f"{len(stream)} windows, {args.services} services, {args.rate:.0f} lines/s, "
          f"{args.error_share:.0%} errors, {args.minutes} min of event time")
    print("| layout | inputs folded | incident events | table writes | of them deletes | bytes written | bytes/min | "
          "largest value | fold CPU | per input |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = {}
    for layout in ("whole", "parts", "parts+cache"):
        # parts+cache: the same layout, each service's state kept from its last fold
        # (`fold.StateCache`, as the stage runs it): the same writes, less fold CPU.
        cache = StateCache() if layout == "parts+cache" else None
        tally = asyncio.run(play(stream, layout.split("+")[0], cfg, cache))
        results[layout] = tally
        print(f"| {layout} | {tally.inputs:,} | {tally.events:,} | {tally.writes:,} | {tally.deletes:,} | {tally.bytes:,} | "
              f"{tally.bytes / args.minutes:,.0f} | {tally.largest:,} | {tally.fold_s:.1f} s | "
              f"{tally.fold_s / tally.inputs * 1000:.1f} ms |")
    whole, parts, cached = results["whole"], results["parts"], results["parts+cache"]
    print(f"\nparts / whole: bytes {parts.bytes / whole.bytes:.3f}, writes {parts.writes / whole.writes:.2f}; "
          f"same incident events: {parts.events == whole.events} ({parts.events})")
    print(f"fold CPU parts+cache / parts: {cached.fold_s / parts.fold_s:.2f} (same writes: "
          f"{(cached.writes, cached.bytes) == (parts.writes, parts.bytes)})")
    print("bytes by part (parts layout): " + ", ".join(f"{k} {v:,}" for k, v in parts.by_part.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
