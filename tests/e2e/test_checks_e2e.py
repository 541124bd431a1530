"""Host checks, probes and baselines end to end: `logwarden checks run` and a real worker, on both brokers.

A disk threshold set below the current usage opens an incident for the host's service;
raising it back resolves it on the N-th ok result (hysteresis N = 2). A probe whose
value jumps becomes a baseline finding with its explanation. A service that stops
logging gets a "went silent" finding. Each test has a broker of its own
(`fresh_broker`): no other test's incidents or consumer groups.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import run_cli
from tests.e2e.harness import (WorkerProcess, base_env, ensure_topics, incident_detail, minute_lines, produce, read_json,
                               wait_for)

pytestmark = pytest.mark.broker

SERVICE = "disk-host-svc"
ONLY_DISK = {
    "LOGWARDEN_CHECKS__SERVICE": SERVICE, "LOGWARDEN_CHECKS__HOST": "e2e-host", "LOGWARDEN_CHECKS__RECOVER_AFTER": "2",
    "LOGWARDEN_CHECKS__DISK__MOUNTS": '["/"]', "LOGWARDEN_CHECKS__DISK__INODES": "false",
    "LOGWARDEN_CHECKS__CPU__ENABLED": "false", "LOGWARDEN_CHECKS__MEMORY__ENABLED": "false",
    "LOGWARDEN_CHECKS__NETWORK__ENABLED": "false",
}


def _run_once(env: dict, warning: float, critical: float):
    env = dict(env, LOGWARDEN_CHECKS__DISK__WARNING_THRESHOLD=str(warning),
               LOGWARDEN_CHECKS__DISK__CRITICAL_THRESHOLD=str(critical))
    return run_cli(["checks", "run", "--once"], env, timeout=60)


def _events(records: list[dict], type_: str) -> list[dict]:
    return [e for e in records if e["service"] == SERVICE and e["type"] == type_]


def test_disk_below_its_threshold_opens_an_incident_and_two_ok_results_resolve_it(fresh_broker, tmp_path):
    import shutil

    usage = shutil.disk_usage("/")
    used_percent = 100.0 * usage.used / usage.total
    assert used_percent > 1.0, "the test needs a disk that is more than 1 % used"
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    env = base_env(tmp_path, bootstrap, "e2e-checks", LOGWARDEN_STAGES='["web", "incidents"]', **ONLY_DISK)
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        failed = _run_once(env, warning=0.5, critical=1.0)
        assert failed.returncode == 3, failed.stderr.decode()
        out = failed.stdout.decode()
        assert "fail    disk:/" in out and "critical at 1%" in out
        assert f"published 1 result(s) to checks.results for service {SERVICE}" in out
        events = wait_for(bootstrap, "incidents.events", lambda evs: bool(_events(evs, "opened")), worker=worker)
        (opened,) = _events(events, "opened")
        (added,) = _events(events, "finding_added")
        assert (added["data"]["fingerprint"], added["data"]["error_type"]) == ("ck1:disk:/:e2e-host", "check:disk:/")
        detail = incident_detail(worker, opened["incident_id"])
        (finding,) = detail["findings"].values() if isinstance(detail["findings"], dict) else detail["findings"]
        assert finding["template"].startswith("disk / ") and "critical at 1%" in finding["template"]

        first_ok = _run_once(env, warning=99.0, critical=99.5)
        assert first_ok.returncode == 0, first_ok.stderr.decode()
        assert "ok      disk:/" in first_ok.stdout.decode()
        second_ok = _run_once(env, warning=99.0, critical=99.5)
        assert second_ok.returncode == 0
        events = wait_for(bootstrap, "incidents.events", lambda evs: bool(_events(evs, "resolved")), worker=worker)
        (resolved,) = _events(events, "resolved")
        assert resolved["incident_id"] == opened["incident_id"]
        results = [r for r in read_json(bootstrap, "checks.results") if r["service"] == SERVICE]
        assert [r["status"] for r in results] == ["fail", "ok", "ok"]
        assert {r["recover_after"] for r in results} == {2} and {r["host"] for r in results} == {"e2e-host"}
        # Resolved on the second ok result (its event time), not on the first.
        assert resolved["at"] == results[2]["at"] and resolved["at"] > results[1]["at"]
    finally:
        worker.stop()


PROBE_SERVICE = "probe-svc"


def test_a_probe_value_that_jumps_becomes_a_finding_with_its_explanation(fresh_broker, tmp_path):
    import signal
    import subprocess
    import sys

    from agents.baselines.config import BaselinesConfig
    from agents.baselines.model import bucket_of
    from tests.conftest import ROOT

    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    value = tmp_path / "depth.txt"
    value.write_text("10\n")
    probe = tmp_path / "depth_probe.py"
    probe.write_text("import sys\nprint(open(sys.argv[1]).read().strip())\n")
    config = tmp_path / "checks.toml"
    config.write_text(
        f'[checks]\nservice = "{PROBE_SERVICE}"\nhost = "probe-host"\n'
        '[checks.cpu]\nenabled = false\n[checks.memory]\nenabled = false\n'
        '[checks.disk]\nenabled = false\n[checks.network]\nenabled = false\n'
        f'[[checks.probes]]\nname = "queue_depth"\ncommand = ["{sys.executable}", "{probe}", "{value}"]\n'
        'unit = "jobs"\ninterval_s = 0.3\ntimeout_s = 5\n')
    env = base_env(tmp_path, bootstrap, "e2e-probes", LOGWARDEN_STAGES='["web", "incidents", "baselines"]')
    worker = WorkerProcess(env, tmp_path / "run").start()
    # A file, not a pipe nobody reads: one line per round would fill a pipe and stop the runner.
    with open(tmp_path / "checks.out", "wb") as out:
        checks = subprocess.Popen([sys.executable, "-m", "streams.cli", "-c", str(config), "checks", "run"],
                                  env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def probes(records: list[dict], depth: float | None = None) -> list[dict]:
        return [r for r in records if r["service"] == PROBE_SERVICE and r.get("kind") == "probe"
                and (depth is None or r["metrics"] == {"queue_depth": depth})]

    try:
        # checks.results gets a result every ~0.3 s, so it is never quiet: read it up to its end.
        # The fallback reference needs 10 values (min_recent_samples): wait for 12 of them.
        wait_for(bootstrap, "checks.results", lambda rs: len(probes(rs, 10.0)) >= 12, timeout=60, worker=worker,
                 to_end=True)
        jump = tmp_path / "depth.new"
        jump.write_text("500\n")
        jump.replace(value)  # atomic: the probe reads 10 or 500, never a half-written file
        results = wait_for(bootstrap, "checks.results", lambda rs: any(
            r["service"] == PROBE_SERVICE and r.get("kind") == "baseline" for r in rs), timeout=60, worker=worker,
            to_end=True)
        # The first one: when the recent values judged it, they later take 500 as usual and end it.
        finding = [r for r in results if r["service"] == PROBE_SERVICE and r.get("kind") == "baseline"][0]
        assert finding["status"] == "fail" and finding["check"] == "baseline:probe:queue_depth@probe-host"
        # The second 500 in a row opened it (confirm = 2): its time is the second jump's.
        jumps = probes(results, 500.0)
        assert finding["at"] == jumps[1]["at"]
        # Usual: the hour-of-week bucket once it holds 30 values, before that the recent values.
        # While it fills, the bucket learns what the fallback judged, the first jump too.
        hour, label = bucket_of(finding["at"], "UTC")
        in_bucket = sum(1 for r in probes(results, 10.0) if bucket_of(r["at"], "UTC")[0] == hour)
        full = BaselinesConfig().min_bucket_samples
        if in_bucket < full and bucket_of(jumps[0]["at"], "UTC")[0] == hour:
            in_bucket += 1
        usual = f"for {label}" if in_bucket >= full else "recently"
        assert finding["message"] == f"queue_depth 500 jobs, usual {usual} is 10 jobs"
        events = wait_for(bootstrap, "incidents.events", lambda evs: any(
            e["service"] == PROBE_SERVICE and e["type"] == "opened" for e in evs), worker=worker)
        (opened,) = [e for e in events if e["service"] == PROBE_SERVICE and e["type"] == "opened"]
        detail = incident_detail(worker, opened["incident_id"])
        templates = [f["template"] for f in (detail["findings"].values() if isinstance(detail["findings"], dict)
                                              else detail["findings"])]
        assert templates == [finding["message"]]
    finally:
        checks.send_signal(signal.SIGINT)
        try:
            checks.wait(15)
        except subprocess.TimeoutExpired:
            checks.kill()
            checks.wait(5)
        worker.stop()


def test_a_worker_running_the_checks_stage_publishes_its_host_checks_on_a_timer(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    env = base_env(tmp_path, bootstrap, "e2e-checks-stage", LOGWARDEN_STAGES='["web", "checks"]',
                   **dict(ONLY_DISK, LOGWARDEN_CHECKS__SERVICE="stage-svc", LOGWARDEN_CHECKS__INTERVAL_S="1"))
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        results = wait_for(bootstrap, "checks.results", lambda rs: len(
            [r for r in rs if r["service"] == "stage-svc"]) >= 2, timeout=60, worker=worker, to_end=True)
    finally:
        worker.stop()
    mine = [r for r in results if r["service"] == "stage-svc"]
    assert {r["check"] for r in mine} == {"disk:/"} and {r["host"] for r in mine} == {"e2e-host"}
    assert mine[1]["at"] - mine[0]["at"] >= 1.0  # one round per checks.interval_s


QUIET, STEADY = "quiet-svc", "steady-svc"


def test_a_service_that_stops_logging_gets_a_went_silent_finding(fresh_broker, tmp_path):
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    # Ticks are off: windows close on the lines' own event time, so this is a replay of
    # 16 minutes an hour ago. One host ships both services (one key, one partition):
    # quiet-svc logs 20 lines a minute for 12 minutes, then stops; steady-svc goes on, which
    # moves the watermark past quiet-svc's silent minutes. (A partition that held lines and
    # went quiet holds the watermark until the ticks move it: not what is tested here.)
    t0 = (time.time() // 60) * 60 - 3600
    lines = []
    for m in range(16):
        lines += minute_lines(STEADY, t0, m, infos=20)
        if m < 12:
            lines += minute_lines(QUIET, t0, m, infos=20)
    produce(bootstrap, sorted((("web-1", line, ts) for _key, line, ts in lines), key=lambda r: r[2]))
    env = base_env(tmp_path, bootstrap, "e2e-silent", LOGWARDEN_STAGES='["web", "extract", "incidents", "baselines"]')
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        def baseline(records: list[dict]) -> list[dict]:
            return [r for r in records if r.get("kind") == "baseline"]

        # The fallback reference needs 10 windows of history: minutes 0-11 give 12.
        results = wait_for(bootstrap, "checks.results", lambda rs: bool(baseline(rs)), worker=worker)
        (finding,) = baseline(results)
        assert (finding["service"], finding["status"], finding["check"]) == (QUIET, "fail", "baseline:lines_per_min")
        assert finding["message"] == ("quiet-svc went silent: no log lines in 2 windows in a row, "
                                      "usual recently is 20 lines/min")
        # Within 2 windows: the second silent minute (12, 13) opened it, at its end.
        assert finding["at"] == t0 + 14 * 60
        windows = [w for w in read_json(bootstrap, "signals.windows") if w["service"] == QUIET]
        assert [w["lines"] for w in sorted(windows, key=lambda w: w["window_start"])][:14] == [20] * 12 + [0, 0]
        events = wait_for(bootstrap, "incidents.events", lambda evs: any(
            e["service"] == QUIET and e["type"] == "opened" for e in evs), worker=worker)
        (opened,) = [e for e in events if e["service"] == QUIET and e["type"] == "opened"]
        detail = incident_detail(worker, opened["incident_id"])
        templates = [f["template"] for f in (detail["findings"].values() if isinstance(detail["findings"], dict)
                                              else detail["findings"])]
        assert templates == [finding["message"]]
        # steady-svc, same history and still logging: nothing to say about it.
        assert not [e for e in events if e["service"] == STEADY]
    finally:
        worker.stop()
