"""The AI asks for a probe by name, and the checks stage runs the configured one once (Tansu).

A worker runs extraction, incidents, the local AI and checks. A probe `queue_depth`
is declared `for = ["resource"]`; out-of-memory lines are a "resource" finding for the
local classifier, so its classification asks for `queue_depth`, the AI stage publishes
the request on `checks.requests`, and the checks stage runs the configured command once
and publishes its value on `checks.results`, saying who asked.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.e2e.harness import WorkerProcess, base_env, ensure_topics, minute_lines, produce, wait_for

pytestmark = pytest.mark.broker

SERVICE = "orders"
OOM = json.dumps({"ts": "{ts}", "level": "error", "service": SERVICE, "path": "/v1/orders", "method": "POST",
                  "msg": "worker 3 killed: out of memory allocating 2097152 bytes", "error": "MemoryError"})
PROBES = f"""
[[checks.probes]]
name = "queue_depth"
command = [{json.dumps(sys.executable)}, "-c", "print(1204)"]
unit = "jobs"
interval_s = 3600
for = ["resource"]

[[checks.probes]]
name = "db_connections"
command = [{json.dumps(sys.executable)}, "-c", "print(7)"]
interval_s = 3600
for = ["database"]
"""


def test_a_probe_asked_by_the_local_ai_runs_once_and_its_value_is_published(tansu, tmp_path):
    bootstrap = tansu.bootstrap
    ensure_topics(bootstrap)
    config = tmp_path / "probes.toml"
    config.write_text(PROBES)
    env = base_env(tmp_path, bootstrap, "e2e-probe-asks",
                   LOGWARDEN_STAGES='["web", "extract", "incidents", "ai", "notify", "checks"]',
                   LOGWARDEN_CHECKS__SERVICE=SERVICE, LOGWARDEN_CHECKS__HOST="e2e-host",
                   LOGWARDEN_CONFIG=str(config), LOGWARDEN_CHECKS__CPU__ENABLED="false",
                   LOGWARDEN_CHECKS__MEMORY__ENABLED="false", LOGWARDEN_CHECKS__DISK__ENABLED="false",
                   LOGWARDEN_CHECKS__NETWORK__ENABLED="false", LOGWARDEN_CHECKS__INTERVAL_S="3600")
    worker = WorkerProcess(env, tmp_path / "run").start()
    t0 = (time.time() // 60) * 60 - 1800
    try:
        lines = []
        for m in range(0, 4):
            lines += minute_lines(SERVICE, t0, m, errors=[OOM] * 4 if m in (1, 2) else None)
        produce(bootstrap, lines)
        asked = wait_for(bootstrap, "checks.results",
                         lambda rs: any(r["id"].startswith("asked|") for r in rs), worker=worker)
        requests = wait_for(bootstrap, "checks.requests", lambda rs: bool(rs), worker=worker)
        events = wait_for(bootstrap, "incidents.events", lambda evs: any(e["type"] == "opened" for e in evs),
                          worker=worker)
    finally:
        worker.stop()
    opened = next(e for e in events if e["type"] == "opened")
    assert [(r["probe"], r["service"], r["incident_id"], r["requested_by"]) for r in requests] == [
        ("queue_depth", SERVICE, opened["incident_id"], "ai:local")]  # only the probe declared for "resource"
    runs = [r for r in asked if r["id"].startswith("asked|")]
    assert len(runs) == 1  # once, though the incident had several windows of the same finding
    (run,) = runs
    assert (run["check"], run["kind"], run["service"], run["host"]) == ("probe:queue_depth", "probe", SERVICE,
                                                                        "e2e-host")
    assert run["metrics"] == {"queue_depth": 1204.0} and run["status"] == "ok"
    assert run["message"] == f"probe queue_depth: queue_depth 1204 jobs (asked by the model during {opened['incident_id']})"
    assert run["trace_id"] == requests[0]["trace_id"]
