"""The foundation on real brokers: send-logs -> an agent of the app, CLI failures,
clean SIGTERM and a fast second start."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from streams.brokers import free_port
from streams.kafka import create_topics
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.broker


def _get_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _wait_json(url: str, ok, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = _get_json(url)
            if ok(last):
                return last
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready in {timeout}s; last answer {last}")


def _worker_env(cli_env, bootstrap: str, app_id: str) -> tuple[dict, int]:
    port = free_port()
    env = dict(cli_env, LOGWARDEN_BROKER=bootstrap, LOGWARDEN_APP_ID=app_id, LOGWARDEN_WEB_PORT=str(port))
    return env, port


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> float:
    t0 = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout)
    return time.monotonic() - t0


def test_send_logs_every_line_reaches_an_agent(fresh_broker, cli_env, tmp_path):
    # A broker of its own: the shared one's logs.raw holds every other test's lines and
    # ticks, which the counting agent would have to read through first.
    broker = fresh_broker
    marker = f"count-run-{os.getpid()}-{time.time_ns()}"
    lines = [json.dumps({"service": f"svc-{i % 7}", "level": "info" if i % 50 else "error",
                         "msg": f"request {i} done", "n": i, "run": marker}) for i in range(10_000)]
    log_file = tmp_path / "lines.jsonl"
    log_file.write_text("\n".join(lines) + "\n")
    expected = sum(int.from_bytes(hashlib.sha256(l.encode()).digest(), "big") for l in lines) % (1 << 256)

    env, port = _worker_env(cli_env, broker.bootstrap, f"count-{broker.kind}-{os.getpid()}")
    env["COUNT_MARKER"] = marker
    asyncio.run(create_topics(broker.bootstrap, 4))
    worker = subprocess.Popen([sys.executable, "-m", "tests.integration.count_app"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_json(f"http://127.0.0.1:{port}/healthz", lambda j: j["assigned_partitions"] > 0, 60)
        sent = run_cli(["send-logs", str(log_file)], env)
        assert sent.returncode == 0, sent.stderr.decode()
        assert b"sent 10000 lines" in sent.stdout
        result = _wait_json(f"http://127.0.0.1:{port}/count", lambda j: j["lines"] >= 10_000, 60)
        time.sleep(1.0)  # anything beyond 10,000 would be a duplicate: give it a moment to show
        result = _get_json(f"http://127.0.0.1:{port}/count")
        assert result["lines"] == 10_000
        assert result["checksum"] == f"{expected:064x}"
    finally:
        _stop(worker)


def test_sigterm_leaves_group_and_restart_is_fast(broker, cli_env):
    """A worker stopped with SIGTERM leaves its group; the next one is ready in seconds.

    On Kafka: two `logwarden worker` runs against the same durable broker. On Tansu:
    two `logwarden up` runs, as a laptop user does (each starts its own embedded broker;
    re-joining an old group on one long-lived Tansu takes ~20 s, see the closing note)."""
    timings = []
    for _ in range(2):
        if broker.kind == "kafka":
            env, port = _worker_env(cli_env, broker.bootstrap, f"restart-{os.getpid()}")
            cmd = ["worker"]
        else:
            port = free_port()
            env = dict(cli_env, LOGWARDEN_WEB_PORT=str(port))
            cmd = ["up"]
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "streams.cli", *cmd], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_json(f"http://127.0.0.1:{port}/healthz", lambda j: j["assigned_partitions"] > 0, 60)
            timings.append(time.monotonic() - t0)
        finally:
            stop_s = _stop(proc)
        assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
        assert stop_s < 15
    # The second start must not wait out a session timeout of a member that never left.
    assert timings[1] < 15, timings


def test_unreachable_broker_is_one_clear_line(cli_env, tmp_path):
    env = dict(cli_env, LOGWARDEN_BROKER=f"127.0.0.1:{free_port()}")
    f = tmp_path / "x.log"
    f.write_text("hello\n")
    for args in (["send-logs", str(f)], ["topics", "create"], ["tail", "logs.raw", "-n", "1"]):
        res = run_cli(args, env, timeout=60)
        assert res.returncode == 1
        err = res.stderr.decode().strip().splitlines()
        assert err == [f"logwarden: cannot reach the broker at {env['LOGWARDEN_BROKER']}: KafkaConnectionError"], err


def test_topics_create_is_idempotent_and_refuses_a_partition_mismatch(cli_env, tmp_path):
    from streams.brokers import start_broker

    with start_broker("tansu", tmp_path / "b") as b:
        env = dict(cli_env, LOGWARDEN_BROKER=b.bootstrap, LOGWARDEN_PARTITIONS="3")
        first = run_cli(["topics", "create"], env)
        assert first.returncode == 0, first.stderr.decode()
        rows = dict(line.split("\t") for line in first.stdout.decode().splitlines())
        assert rows["logs.raw"] == "created" and rows["incidents.events"] == "created"
        again = run_cli(["topics", "create"], env)
        assert set(dict(l.split("\t") for l in again.stdout.decode().splitlines()).values()) == {"exists"}
        mismatch = run_cli(["topics", "create"], dict(env, LOGWARDEN_PARTITIONS="8"))
        assert mismatch.returncode == 1
        assert "logs.raw has 3 partitions but the configuration says 8" in mismatch.stderr.decode()


def test_bad_config_and_busy_port_are_one_clear_line(cli_env):
    bad = run_cli(["worker"], dict(cli_env, LOGWARDEN_BROKER="x:1", LOGWARDEN_SESSION_TIMEOUT_S="soon"))
    assert bad.returncode == 2
    assert bad.stderr.decode().splitlines()[-1].startswith("  session_timeout_s (env LOGWARDEN_SESSION_TIMEOUT_S)")
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = run_cli(["up"], dict(cli_env, LOGWARDEN_WEB_PORT=str(port)))
    assert res.returncode == 1
    assert res.stderr.decode().strip() == f"logwarden: web port 127.0.0.1:{port} is busy (set LOGWARDEN_WEB_PORT or stop what uses it)"

