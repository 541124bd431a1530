"""rsyslog for real: the shipped ops/shippers/rsyslog.conf tails an application log and
takes syslog over TCP, omkafka ships to Apache Kafka, a real worker counts the errors.

The config is used as shipped, with only the broker address, the tailed path and the
listen port replaced, under a work directory of its own (as the main rsyslog.conf of a
host provides). Kafka only: Debian's librdkafka 2.0.2 cannot talk to the embedded Tansu
broker ("ApiVersionRequest failed: Local: Read underflow").

What a user would notice: every ERROR line and every stack trace in the file is one
error of the configured service, in the minute written in the line; a Python traceback
and a Java trace with "Caused by:" are one finding each, named by their exception; a
syslog sender's own severity is honoured; every record is keyed by its service and sits
on the partition Kafka's own partitioner (murmur2) picks for that key.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner

from streams.brokers import free_port
from tests.e2e.harness import WorkerProcess, base_env, ensure_topics, shipped_lines, tick_every_partition, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "ops" / "shippers" / "rsyslog.conf"
TRACES = ROOT / "tests" / "data" / "shippers"
PARTITIONS = 4
EXTRACT_ONLY = '["web", "extract"]'

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(shutil.which("rsyslogd") is None or not list(Path("/usr/lib").glob("*/rsyslog/omkafka.so")),
                       reason="needs Debian's rsyslog and rsyslog-kafka (.ci/run installs them)"),
]



def stamp(t: float) -> str:
    """Python logging's default time format (no zone: UTC here)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + f",{int(t * 1000) % 1000:03d}"


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def app_log(t0: float) -> tuple[list[str], dict]:
    """The events of the tailed file (each possibly many lines) and what must be counted."""
    a, b = t0, t0 + 60
    trace = {name: (TRACES / name).read_text().rstrip("\n") for name in (
        "python_exc.log", "python_chained_exc.log", "complex_java_exc.log", "nested_java_exc.log")}
    events = [f"{stamp(a + 1 + i)} INFO [myapp.http] GET /api/items/{1000 + i} 200" for i in range(12)]
    events += [f"{stamp(a + 13 + i)} ERROR [myapp.db] connection pool exhausted (size=20)" for i in range(3)]
    events += [f"{stamp(a + 16 + i)} ERROR [myapp.worker] job {i} failed\n{trace['python_exc.log']}" for i in range(2)]
    events += [f"{stamp(a + 18)} ERROR [myapp.settings] reload failed\n{trace['python_chained_exc.log']}"]
    events += [f"{stamp(a + 19)} ERROR [main] request failed\n{trace['complex_java_exc.log']}"]
    events += [f"{stamp(a + 20)} WARN [myapp.cache] cache miss ratio high"]
    events += [f"{stamp(b + 1 + i)} INFO [myapp.http] GET /api/orders/{2000 + i} 200" for i in range(6)]
    events += [f"{stamp(b + 7)} ERROR [mail] sending failed\n{trace['nested_java_exc.log']}"]
    events += [f"{stamp(b + 8)} ERROR [myapp.jobs] nightly export failed: disk full"]
    expected = {
        # minute -> (errors, {exception type: count}); the three pool lines are one template
        0: (7, {"Exception": 2, "ValueError": 1, "javax.servlet.ServletException": 1}),
        1: (2, {"java.lang.RuntimeException": 1}),
    }
    return events, expected


def syslog_messages(t0: float) -> list[str]:
    """RFC 5424 over TCP from `billing`: one `err` (3), an ERROR text at `info`, and info."""
    return [f"<11>1 {iso(t0 + 30)} web-1 billing 4242 - - payment declined: card expired",
            f"<14>1 {iso(t0 + 31)} web-1 billing 4242 - - ERROR settlement batch failed",
            f"<14>1 {iso(t0 + 32)} web-1 billing 4242 - - settlement batch 17 done"]


def generated_config(tmp: Path, bootstrap: str, logs: Path, port: int) -> Path:
    text = SHIPPED.read_text()
    substitutions = {'broker=["127.0.0.1:9092"]': f'broker=["{bootstrap}"]',
                     'File="/var/log/myapp/*.log"': f'File="{logs}/*.log"',
                     'port="514"': f'port="{port}"'}
    for old, new in substitutions.items():
        assert old in text, f"rsyslog.conf no longer has {old}"
        text = text.replace(old, new)
    work = tmp / "work"
    work.mkdir()
    conf = tmp / "rsyslog.conf"
    # What a host's main rsyslog.conf provides: a work directory (imfile state, disk queue).
    conf.write_text(f'global(workDirectory="{work}")\n{text}')
    return conf


class Rsyslogd:
    """`rsyslogd -n` with its own config and pid file; never the system service."""

    def __init__(self, conf: Path, tmp: Path):
        self.log = tmp / "rsyslogd.log"
        out = open(self.log, "wb")
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-C", "-f", str(conf), "-i", str(tmp / "rsyslogd.pid")],
                                     stdout=out, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
        out.close()

    def wait_listening(self, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"rsyslogd exited {self.proc.returncode}: {self.log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"rsyslogd not listening on {port}: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def test_rsyslog_ships_files_and_syslog_keyed_and_every_error_is_counted(kafka, tmp_path):
    bootstrap = kafka.bootstrap
    ensure_topics(bootstrap, PARTITIONS)
    service = re.search(r'^\s*Tag="([^"]+)"', SHIPPED.read_text(), re.M).group(1)
    t0 = (time.time() // 60) * 60 - 10 * 60
    events, expected = app_log(t0)
    messages = syslog_messages(t0)
    logs = tmp_path / "logs"
    logs.mkdir()
    port = free_port()
    rsyslogd = Rsyslogd(generated_config(tmp_path, bootstrap, logs, port), tmp_path)
    worker = None
    try:
        rsyslogd.wait_listening(port)
        # The application writes its log; a syslog sender connects.
        with open(logs / "app.log", "a") as app:
            for event in events:
                app.write(event + "\n")
                app.flush()
        with socket.create_connection(("127.0.0.1", port)) as sender:
            sender.sendall("".join(m + "\n" for m in messages).encode())
        deadline = time.monotonic() + 60
        records = shipped_lines(bootstrap)
        while len(records) < len(events) + len(messages):
            assert time.monotonic() < deadline, (f"{len(records)} of {len(events) + len(messages)} records"
                                                 f" shipped:\n{rsyslogd.log.read_text()}")
            time.sleep(0.5)
            records = shipped_lines(bootstrap)

        # One record per event, the stack traces whole, keyed by service on murmur2's partition.
        assert len(records) == len(events) + len(messages)
        by_service = Counter(r["service"] for _p, _k, r in records)
        assert by_service == {service: len(events), "billing": len(messages)}
        assert sorted(r["message"] for _p, _k, r in records if r["service"] == service) == sorted(events)
        murmur2 = DefaultPartitioner()
        for partition, key, record in records:
            assert key == record["service"].encode()
            assert partition == murmur2(key, list(range(PARTITIONS)), list(range(PARTITIONS)))
        # A tailed line carries no level or time of rsyslog's (imfile says "notice" for all).
        assert all(set(r) == {"service", "host", "message"} for _p, _k, r in records if r["service"] == service)
        billing = sorted((r["message"], r.get("level")) for _p, _k, r in records if r["service"] == "billing")
        assert billing == [("ERROR settlement batch failed", None), ("payment declined: card expired", "err"),
                           ("settlement batch 17 done", None)]

        worker = WorkerProcess(base_env(tmp_path, bootstrap, "e2e-rsyslog", LOGWARDEN_STAGES=EXTRACT_ONLY),
                               tmp_path / "run").start()
        tick_every_partition(bootstrap, time.time(), PARTITIONS)

        def counted(windows):
            mine = [w for w in windows if w["service"] in (service, "billing")]
            return (sum(w["errors"] for w in mine) >= sum(e for e, _t in expected.values()) + 2
                    and {(w["service"], w["window_start"]) for w in mine} >= {
                        (service, t0), (service, t0 + 60), ("billing", t0)})

        windows = wait_for(bootstrap, "signals.windows", counted, timeout=120, worker=worker)
    finally:
        rsyslogd.stop()
        if worker is not None:
            worker.stop()

    mine = [w for w in windows if w["service"] == service]
    assert max(Counter(w["window_start"] for w in mine).values()) == 1, "a window was emitted twice"
    by_minute = {int((w["window_start"] - t0) // 60): w for w in mine}
    assert {m: w["errors"] for m, w in by_minute.items() if w["errors"]} == {m: e for m, (e, _t) in expected.items()}
    assert sum(w["lines"] for w in mine) == len(events)
    assert by_minute[0]["warnings"] == 1
    for minute, (_errors, types) in expected.items():
        findings = by_minute[minute]["findings"]
        assert {f["error_type"]: f["count"] for f in findings if f["error_type"] in types} == types, findings
    pool = [f for f in by_minute[0]["findings"] if "connection pool exhausted" in f["template"]]
    assert [f["count"] for f in pool] == [3]
    (bill,) = [w for w in windows if w["service"] == "billing" and w["window_start"] == t0]
    assert (bill["lines"], bill["errors"]) == (3, 2)
