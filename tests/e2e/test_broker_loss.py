"""Broker loss: running workers ride out a broker restart (a rolling upgrade), and a
worker told to stop while the broker is gone exits on time with a short log.

Kafka keeps its data on disk, so a restart on the same port must lose nothing: every
line produced before, and after, the outage is counted once. Tansu keeps everything in
memory, so after its restart the topics and everything in them are gone; what riding
out means there is that the worker stays up, creates its topics again with their
declared partition counts (none of its clients may create one with the broker's
default: `incidents.digest` came back with 4 partitions instead of 1 before), and
processes what is sent after.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import pytest

from streams.kafka.admin import create_topics
from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, minute_lines, produce, wait_for

pytestmark = pytest.mark.broker

SERVICES = ["payments", "search"]
OUTAGE_S = float(os.environ.get("LOGWARDEN_TEST_OUTAGE_S", "60"))
SIGTERM_TRIES = int(os.environ.get("LOGWARDEN_TEST_SIGTERM_TRIES", "3"))
MAX_SHUTDOWN_LINES = 40  # "a few dozen": one line per state change plus summaries


def _minutes(t0: float, first: int, last: int) -> list:
    out = []
    for m in range(first, last + 1):
        for svc in SERVICES:
            err = [json.dumps({"ts": "{ts}", "level": "error", "service": svc, "msg": "upstream timed out"})] \
                if m % 2 == 0 else None
            out += minute_lines(svc, t0, m, infos=5, errors=err)
    return out


def _closed_through(minute: int, t0: float, first: int = 0):
    def ok(windows):
        closed = {(w["service"], w["window_start"]) for w in windows}
        return all((s, t0 + m * 60) in closed for s in SERVICES for m in range(first, minute + 1))
    return ok


def _counted(windows: list[dict], t0: float, first: int, last: int) -> tuple[int, int]:
    by_id: dict[str, dict] = {}
    for w in windows:
        if w["id"] in by_id:  # re-emitted after a restart: must be identical
            assert (w["lines"], w["errors"]) == (by_id[w["id"]]["lines"], by_id[w["id"]]["errors"])
        by_id[w["id"]] = w
    mine = [w for w in by_id.values() if t0 + first * 60 <= w["window_start"] <= t0 + last * 60]
    assert len(mine) == len(SERVICES) * (last - first + 1)
    return sum(w["lines"] for w in mine), sum(w["errors"] for w in mine)


def _expected(first: int, last: int) -> tuple[int, int]:
    minutes = range(first, last + 1)
    errors = len(SERVICES) * sum(1 for m in minutes if m % 2 == 0)
    return len(SERVICES) * 5 * len(minutes) + errors, errors


def _log_lines(worker: WorkerProcess) -> list[str]:
    """The worker's log records (JSON lines) and its own stderr lines, not console notifications."""
    return [line for line in worker.log.read_text(errors="replace").splitlines()
            if '"level": ' in line or line.startswith("logwarden:")]


def _wait_for_line(worker: WorkerProcess, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in worker.log.read_text(errors="replace"):
            return
        assert worker.proc.poll() is None, f"worker exited {worker.proc.returncode}:\n{worker.tail()}"
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in the worker's log within {timeout}s:\n{worker.tail()}")


def _outage(broker, worker: WorkerProcess, seconds: float) -> None:
    """Stop the broker (SIGTERM, as a rolling upgrade does), keep it down, start it again
    on the same port (and, for Kafka, the same data); the worker must stay up throughout."""
    broker.stop()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code = worker.proc.poll()
        assert code is None, f"worker exited {code} during the outage:\n{worker.tail()}"
        time.sleep(0.5)
    broker.start(timeout=90)


def test_worker_rides_out_a_broker_restart(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    extra = {"LOGWARDEN_REBALANCE_TIMEOUT_S": "10"} if fresh_broker.kind == "tansu" else {}
    env = base_env(tmp_path, bootstrap, "e2e-brokerloss", LOGWARDEN_STAGES=NO_TICKS, **extra)
    t0 = (time.time() // 60) * 60 - 3600
    produce(bootstrap, _minutes(t0, 0, 3))
    worker = WorkerProcess(env, tmp_path / "w").start()
    try:
        wait_for(bootstrap, "signals.windows", _closed_through(2, t0), worker=worker)
        _outage(fresh_broker, worker, OUTAGE_S)
        assert fresh_broker.bootstrap == bootstrap
        # Tansu: the topics and everything in them went with the broker (memory storage):
        # they are created again, and what is sent from now on must be counted.
        first = 4 if fresh_broker.kind == "tansu" else 0
        if fresh_broker.kind == "tansu":
            _wait_for_line(worker, "created them again", timeout=60)
            status = asyncio.run(create_topics(bootstrap, 4))  # raises TopicMismatch on a wrong count
            assert set(status.values()) == {"exists"}, status
        produce(bootstrap, _minutes(t0, 4, 7))
        windows = wait_for(bootstrap, "signals.windows", _closed_through(6, t0, first), timeout=180, worker=worker)
        assert worker.proc.poll() is None
        # The worker says the broker is back at its next check (every 2 s): the windows
        # can be through before that, and a worker stopped in 0.2 s never said it (a
        # clean run on Kafka, where the restarted broker answered at once).
        _wait_for_line(worker, "reachable again", timeout=30)
    finally:
        worker.stop()
    assert _counted(windows, t0, first, 6) == _expected(first, 6)
    lines = _log_lines(worker)
    assert any("reachable again" in line for line in lines), "\n".join(lines[-80:])
    assert len(lines) <= 2 * MAX_SHUTDOWN_LINES, "\n".join(lines[-80:])  # per kind once, a summary per 30 s


def test_sigterm_with_the_broker_gone_exits_on_time(fresh_broker, tmp_path):
    """Each try: a worker, the broker stopped under it, SIGTERM; exit within 30 s, short log."""
    env = base_env(tmp_path, fresh_broker.bootstrap, "e2e-sigterm", **(
        {"LOGWARDEN_REBALANCE_TIMEOUT_S": "10"} if fresh_broker.kind == "tansu" else {}))
    for attempt in range(SIGTERM_TRIES):
        if fresh_broker.proc is None:
            fresh_broker.start(timeout=90)
        ensure_topics(fresh_broker.bootstrap)
        worker = WorkerProcess(env, tmp_path / f"w{attempt}").start()
        fresh_broker.stop()
        _wait_for_line(worker, "unreachable; riding it out")  # the worker knows: clients are retrying
        start = time.monotonic()
        code = worker.stop(signal.SIGTERM, timeout=40)
        took = time.monotonic() - start
        lines = _log_lines(worker)
        assert took < 30, f"try {attempt}: exit took {took:.1f}s\n{worker.tail()}"
        assert code in (0, 3), f"try {attempt}: exit code {code}\n{worker.tail()}"
        assert len(lines) <= MAX_SHUTDOWN_LINES, f"try {attempt}: {len(lines)} lines\n" + "\n".join(lines[:80])
