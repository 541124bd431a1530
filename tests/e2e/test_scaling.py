"""Horizontal scaling: two workers of one app share the partitions; when one leaves,
the other takes its partitions over and nothing is lost or counted twice."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, get_json, minute_lines, produce, wait_for

pytestmark = pytest.mark.broker

SERVICES = [f"svc-{i}" for i in range(8)]


def _minutes(t0: float, first: int, last: int) -> list:
    out = []
    for m in range(first, last + 1):
        for svc in SERVICES:
            err = [json.dumps({"ts": "{ts}", "level": "error", "service": svc, "msg": "upstream timed out"})] \
                if svc in ("svc-1", "svc-6") and m % 2 == 0 else None
            out += minute_lines(svc, t0, m, infos=6, errors=err)
    return out


def _windows_until(minute_end: int, t0: float):
    def ok(windows):
        closed = {(w["service"], w["window_start"]) for w in windows}
        return all((s, t0 + m * 60) in closed for s in SERVICES for m in range(minute_end + 1))
    return ok


def test_two_workers_share_partitions_and_one_takes_over(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    extra = {"LOGWARDEN_REBALANCE_TIMEOUT_S": "10"} if fresh_broker.kind == "tansu" else {}
    env = base_env(tmp_path, bootstrap, "e2e-scale", LOGWARDEN_STAGES=NO_TICKS, **extra)
    t0 = (time.time() // 60) * 60 - 3600
    phase1 = _minutes(t0, 0, 3)
    produce(bootstrap, phase1)

    a = WorkerProcess(env, tmp_path / "a").start()
    b = None
    try:
        alone_from_start = get_json(a.url + "/healthz")["assigned_partitions"]  # one worker owns every partition
        b = WorkerProcess(env, tmp_path / "b").start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shares = [get_json(w.url + "/healthz")["assigned_partitions"] for w in (a, b)]
            if all(shares):
                break
            time.sleep(0.5)
        assert all(shares), f"partitions not shared: {shares}"
        wait_for(bootstrap, "signals.windows", _windows_until(2, t0), worker=a)
        # No waiting for the group to settle: b leaves whenever this point is reached,
        # inside a rebalance or not, as an operator scaling down would.
        assert b.stop() == 0  # SIGTERM: leaves the groups, its partitions move to a
        phase2 = _minutes(t0, 4, 7)
        produce(bootstrap, phase2)
        windows = wait_for(bootstrap, "signals.windows", _windows_until(6, t0), timeout=120, worker=a)
        # Faust's group (the stages' topics) rebalances on its own schedule, apart from the
        # batch loops' groups that closed these windows: a takes every partition back.
        # (A worker may restart itself in place on a group error meanwhile: its web port
        # is closed for a moment, the process stays.)
        deadline = time.monotonic() + 60
        owned = 0
        while owned != alone_from_start:
            assert time.monotonic() < deadline, f"a owns {owned} of {alone_from_start} partitions after b left"
            assert a.proc.poll() is None, a.tail()
            try:
                owned = get_json(a.url + "/healthz")["assigned_partitions"]
            except OSError:  # URLError: restarting in place
                owned = 0
            if owned != alone_from_start:
                time.sleep(0.5)
    finally:
        a.stop()
        if b is not None:
            b.stop()

    by_id: dict[str, dict] = {}
    for w in windows:
        if w["id"] in by_id:  # re-emitted after the handover: must be identical
            assert (w["lines"], w["errors"]) == (by_id[w["id"]]["lines"], by_id[w["id"]]["errors"])
        by_id[w["id"]] = w
    closed = [w for w in by_id.values() if w["window_start"] <= t0 + 6 * 60]
    assert len(closed) == len(SERVICES) * 7
    assert sum(w["lines"] for w in closed) == 8 * 7 * 6 + 2 * 4 * 1  # infos + errors of minutes 0,2,4,6
    assert {(w["service"], int((w["window_start"] - t0) // 60)) for w in closed if w["errors"]} == {
        (s, m) for s in ("svc-1", "svc-6") for m in (0, 2, 4, 6)}
