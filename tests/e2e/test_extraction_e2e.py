"""Lines in with `logwarden send-logs`, window summaries out, every line accounted
for (windows + dead letters), on both real brokers."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from tests.conftest import run_cli
from tests.e2e.harness import WorkerProcess, base_env, ensure_topics, read_json, wait_for

pytestmark = pytest.mark.broker


def _lines(t0: float) -> tuple[list[bytes], int]:
    """Three services over five minutes in three formats; returns (lines, bad lines)."""
    out: list[bytes] = []
    for m in range(5):
        for i in range(40):
            ts = t0 + m * 60 + i * 1.4
            out.append(json.dumps({"timestamp": ts, "level": "info", "service": "api",
                                   "msg": f"GET /api/items/{i} 200"}).encode())
            when = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(ts))
            status = 503 if (m == 2 and i % 10 == 0) else 200
            out.append(f'10.0.0.{i} - - [{when}] "GET /api/orders/{1000 + i} HTTP/1.1" {status} 512 "-" "curl/8"'
                       .encode())
            out.append(json.dumps({"time": ts * 1000, "level": 50 if (m == 3 and i < 3) else 30,
                                   "name": "worker", "msg": "job failed: timeout" if (m == 3 and i < 3) else "job ok"}
                                  ).encode())
    bad = [b"\xff\xfe not utf-8 \xc3\x28", b'{"level": "error", "msg": "truncated', b"x" * (2 * 1024 * 1024)]
    return out + bad, len(bad)


def test_every_line_is_counted_in_a_window_or_a_dead_letter(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    t0 = (time.time() // 60) * 60 - 15 * 60
    lines, bad = _lines(t0)
    f = tmp_path / "mixed.log"
    f.write_bytes(b"\n".join(lines) + b"\n")
    # A backlog: the lines are in the log before the worker starts; its ticks (wall
    # clock) come after them in every partition and close all 5 minutes. Lines sent
    # while ticks run would be late, and counted as late in the open window instead.
    env = base_env(tmp_path, bootstrap, "e2e-extract", LOGWARDEN_TICK_INTERVAL_S="1")
    sent = run_cli(["send-logs", str(f)], env)
    assert sent.returncode == 0, sent.stderr.decode()
    assert f"sent {len(lines)} lines".encode() in sent.stdout
    good = len(lines) - bad
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:

        def done(windows):
            return sum(w["lines"] for w in windows) >= good

        windows = wait_for(bootstrap, "signals.windows", done, worker=worker)
    finally:
        worker.stop()

    ids = Counter(w["id"] for w in windows)
    assert max(ids.values()) == 1, "a window was emitted twice"
    assert sum(w["lines"] for w in windows) == good
    letters = read_json(bootstrap, "dead.letter")
    assert sorted(d["reason"] for d in letters) == ["invalid_json", "invalid_utf8", "too_large"]
    assert all(d["source_topic"] == "logs.raw" and d["stage"] == "extract" for d in letters)

    by_minute = {(w["service"], int((w["window_start"] - t0) // 60)): w for w in windows}
    # nginx lines carry no service: the send-logs key and the extractor agree on "unknown".
    errors = {k: w["errors"] for k, w in by_minute.items() if w["errors"]}
    assert errors == {("unknown", 2): 4, ("unknown", 3): 3}, errors
    finding = by_minute[("unknown", 2)]["findings"][0]
    assert finding["error_type"] == "HTTP 503" and finding["endpoint"] == "GET /api/orders/{id}"
    assert finding["count"] == 4
    # Error lines are always placed by their own timestamps (above). Lines that are only
    # counted are placed by broker time plus the service's sampled lag, so in a backlog
    # shipped within a second they may bunch into fewer minutes: the total is exact.
    api = {m: w for (s, m), w in by_minute.items() if s == "api"}
    assert sum(w["lines"] for w in api.values()) == 200
    assert all(w["errors"] == 0 for w in api.values())
    # Every known service gets one summary for every minute from its first up to the
    # watermark: clean while it logs, silent after.
    assert sorted(api) == list(range(min(api), max(api) + 1))
    assert min(api) == 0
    assert api[max(api)]["status"] == "silent"
