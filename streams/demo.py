"""`logwarden up --demo`: a built-in scenario played through the real pipeline.

Event time runs fast: the scenario starts `HISTORY_MIN` minutes in the past and its
clock runs `SPEED` times faster than the wall clock until it catches up with now, so
about a minute after start the console has shown an incident opened, updated,
resolved and reported. The same clock drives the tick producer, so windows close on
the scenario's time; from then on everything runs in real time for real input.

Nothing here is faked downstream: these are log lines on `logs.raw`, in the formats
real services write, keyed by service like a shipper would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sys
import time
from datetime import datetime, timezone
from typing import Callable, Iterator

__all__ = ["DemoClock", "demo_config", "register_demo", "scenario"]

log = logging.getLogger(__name__)

HISTORY_MIN = 24
SPEED = 24.0


class DemoClock:
    """Event time: `HISTORY_MIN` minutes ago, running `speed`x until it reaches now."""

    def __init__(self, speed: float = SPEED, history_min: int = HISTORY_MIN, wall: Callable[[], float] = time.time):
        self.wall = wall
        self.speed = speed
        self.start_wall = wall()
        self.t0 = (self.start_wall // 60) * 60 - history_min * 60

    def __call__(self) -> float:
        now = self.wall()
        return min(now, self.t0 + (now - self.start_wall) * self.speed)


def demo_config(cfg, speed: float = SPEED):  # noqa: ANN001, ANN201 - streams.config.Config
    """The configuration the demo runs with: AI answers timed out in event time get
    `speed` times as much of it (unless `incidents.ai_timeout_s` is set), so a model keeps
    its wall-clock time while the scenario runs fast. Unscaled, the 30 s default was
    1.25 s of wall time, and the first incident's timeline said "no AI answer for
    classify in time" with the local provider, which always answers, a moment later."""
    incidents = cfg.incidents
    if "ai_timeout_s" in incidents.model_fields_set:
        return cfg
    return cfg.model_copy(update={"incidents": incidents.model_copy(
        update={"ai_timeout_s": incidents.ai_timeout_s * speed})})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _nginx(ts: float, method: str, path: str, status: int, rnd: random.Random) -> str:
    when = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
    ip = f"10.0.{rnd.randint(0, 9)}.{rnd.randint(2, 250)}"
    return (f'{ip} - - [{when}] "{method} {path} HTTP/1.1" {status} {rnd.randint(200, 5000)} '
            f'"-" "Mozilla/5.0 (X11; Linux x86_64)" {rnd.uniform(0.002, 0.2):.3f}')


def _traceback(ts: float, order_id: int) -> list[str]:
    when = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    return [
        f"{when} ERROR [payments.api] POST /v1/payments/{order_id} failed",
        "Traceback (most recent call last):",
        '  File "/srv/payments/api/views.py", line 88, in create_payment',
        "    charge = gateway.charge(order, card_token)",
        '  File "/srv/payments/db/pool.py", line 41, in connect',
        "    return psycopg2.connect(dsn, connect_timeout=3)",
        "psycopg2.OperationalError: could not connect to server: Connection refused",
    ]


def scenario(t0: float, minutes: int = HISTORY_MIN, seed: int = 7) -> Iterator[tuple[int, str, str, float]]:
    """Yield (minute, service, line, event_time) for the whole scenario, in order.

    checkout: JSON lines (structlog-like), one one-off error at minute 12.
    payments: Python text logs; database outage with tracebacks minutes 4-9,
              a fatal pool exhaustion at minute 6 (severity rises), recovery after.
    search:   nginx access log; 504s on /api/search at minutes 1-2 (ticketed, then
              known), the same issue reappearing at minute 20.
    """
    rnd = random.Random(seed)
    for m in range(minutes):
        base = t0 + m * 60
        lines: list[tuple[float, str, str]] = []
        for i in range(30):
            ts = base + i * 2 + 0.5
            lines.append((ts, "checkout", json.dumps({
                "timestamp": _iso(ts), "level": "info", "service": "checkout",
                "event": "order placed", "order_id": rnd.randint(10_000, 99_999), "duration_ms": rnd.randint(20, 180)})))
            lines.append((ts + 0.1, "search", _nginx(ts + 0.1, "GET", f"/api/search?q=item{rnd.randint(1, 500)}", 200, rnd)))
            when = datetime.fromtimestamp(ts + 0.2, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
            lines.append((ts + 0.2, "payments", f"{when} INFO [payments.api] POST /v1/payments/{rnd.randint(1000, 9999)} 201 in {rnd.randint(30, 90)}ms"))
        if m in (1, 2, 20):
            for i in range(6):
                ts = base + 5 + i * 7
                lines.append((ts, "search", _nginx(ts, "GET", f"/api/search?q=item{rnd.randint(1, 500)}", 504, rnd)))
        if 4 <= m <= 9:
            for i in range(8):
                ts = base + 3 + i * 7
                for line in _traceback(ts, rnd.randint(1000, 9999)):
                    lines.append((ts, "payments", line))
        if m == 6:
            ts = base + 30
            when = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
            lines.append((ts, "payments", f"{when} CRITICAL [payments.db] connection pool exhausted (size=20), rejecting requests"))
        if m == 12:
            ts = base + 17
            lines.append((ts, "checkout", json.dumps({
                "timestamp": _iso(ts), "level": "error", "service": "checkout",
                "event": "unexpected coupon format", "coupon": "XMAS-2024-EXTRA"})))
        lines.sort(key=lambda item: item[0])
        for ts, service, line in lines:
            yield m, service, line, ts


def register_demo(app, cfg, clock: DemoClock) -> None:
    topology = app.logwarden_topology

    @app.task
    async def play_demo() -> None:
        await asyncio.sleep(1.0)
        print(f"logwarden demo: playing {HISTORY_MIN} minutes of three services at {clock.speed:.0f}x "
              f"(incident opens ~{4 * 60 / clock.speed:.0f}s in, resolves ~{16 * 60 / clock.speed:.0f}s in)",
              file=sys.stderr, flush=True)
        sent = 0
        for minute, service, line, ts in scenario(clock.t0):
            while clock() < ts:
                await asyncio.sleep(min(0.2, max(0.01, (ts - clock()) / clock.speed)))
            # The record's timestamp is the line's event time, as a shipper replaying
            # history would set it: the broker time must not drag windows to "now".
            await topology.publish("logs.raw", service, line.encode(), wait=False, timestamp=ts)
            sent += 1
        print(f"logwarden demo: scenario played ({sent} lines); now running on real time. "
              f"Send your own: logwarden send-logs FILE, POST /logs, POST /alerts/webhook",
              file=sys.stderr, flush=True)
