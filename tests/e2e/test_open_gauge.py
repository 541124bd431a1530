"""`logwarden_incidents_open` on a real worker's /metrics: 1 while an incident is open,
0 after it resolves (it once read 0 for every open incident, and the shipped
Prometheus rule on it could never fire)."""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, minute_lines, produce, wait_for

pytestmark = pytest.mark.broker

SERVICE = "gauged"
ERROR = ('{"ts": "{ts}", "level": "error", "service": "gauged", '
         '"msg": "POST /v1/charges failed: card processor unreachable"}')


def _gauge(url: str) -> float | None:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("logwarden_incidents_open "):
                return float(line.split()[1])
    return None


def _wait_gauge(worker: WorkerProcess, value: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = _gauge(worker.url)
        if seen == value:
            return
        time.sleep(0.25)
    raise AssertionError(f"logwarden_incidents_open stayed {seen}, expected {value}")



def test_open_incidents_gauge_follows_the_incident(tansu, tmp_path):
    bootstrap = tansu.bootstrap
    ensure_topics(bootstrap)
    env = base_env(tmp_path, bootstrap, "e2e-gauge", LOGWARDEN_STAGES=NO_TICKS)
    t0 = (time.time() // 60) * 60 - 3600
    lines = []
    for m in range(0, 5):
        lines += minute_lines(SERVICE, t0, m, errors=[ERROR] * 4 if m == 2 else None)
    produce(bootstrap, lines)
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        wait_for(bootstrap, "incidents.events", lambda evs: any(e["type"] == "opened" for e in evs), worker=worker)
        _wait_gauge(worker, 1.0)
        clean = []
        for m in range(5, 12):
            clean += minute_lines(SERVICE, t0, m)
        produce(bootstrap, clean)
        wait_for(bootstrap, "incidents.events", lambda evs: any(e["type"] == "resolved" for e in evs),
                 worker=worker)
        _wait_gauge(worker, 0.0)
    finally:
        worker.stop()
