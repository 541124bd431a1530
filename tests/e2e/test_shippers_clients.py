"""Any client, any partitioner, any key or none: every error line counted exactly once.

One service's lines of the same minutes are produced to `logs.raw` (4 partitions) by
clients that disagree on where a key goes: aiokafka (murmur2, like Kafka's Java client
and `logwarden send-logs`), the confluent-kafka wheel (librdkafka 2.16, CRC32
`consistent_random`), Debian's kcat (librdkafka 2.0.2, CRC32) keyed with `-K:`, and
producers that send no key at all (round robin, or librdkafka's choice). Each line
carries its own event time (an ISO 8601 `timestamp`, minutes in the past). A real
worker must count every error line once, in its service's window of the minute
written in the line, and emit each service's window once.

Runs on Apache Kafka with every client, and on the embedded Tansu with the clients that
can talk to it (kcat's librdkafka 2.0.2 cannot: "ApiVersionRequest failed: Local: Read
underflow").
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import zlib
from collections import Counter, defaultdict

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from tests.e2e.harness import WorkerProcess, base_env, ensure_topics, shipped_lines, tick_every_partition, wait_for

pytestmark = pytest.mark.broker

PARTITIONS = 4
SERVICES = ("myapp", "billing")
TEMPLATES = ("payment provider timed out", "card declined by issuer")
EXTRACT_ONLY = '["web", "extract"]'
# (client, keyed); kcat only where its librdkafka can reach the broker.
PRODUCERS = {
    "kafka": [("aiokafka", True), ("confluent-kafka", True), ("kcat", True), ("kcat", False),
              ("aiokafka", False), ("confluent-kafka", False)],
    "tansu": [("aiokafka", True), ("confluent-kafka", True), ("aiokafka", False), ("confluent-kafka", False)],
}


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def minute_of_lines(t0: float, minute: int, index: int, client: str, keyed: bool) -> list[tuple[str, str, int]]:
    """(service, JSON line, errors in it) of one producer for one minute: two info lines and
    1-3 errors per service, the number varying by producer and minute."""
    base = t0 + minute * 60
    out = []
    for s, service in enumerate(SERVICES):
        errors = 1 + (index + minute + s) % 3
        for n in range(2 + errors):
            at = base + 1 + index * 5 + n  # early in the minute: nothing is late
            is_error = n >= 2
            record = {"timestamp": iso(at), "service": service, "level": "error" if is_error else "info",
                      "message": TEMPLATES[(n + index) % 2] if is_error else f"GET /api/items/{n} 200",
                      "producer": f"{client}/{'keyed' if keyed else 'unkeyed'}", "minute": minute}
            out.append((service, json.dumps(record), int(is_error)))
    return out


def send_aiokafka(bootstrap: str, lines: list[tuple[str, str, int]], keyed: bool) -> None:
    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for i, (service, line, _e) in enumerate(lines):
                if keyed:
                    await producer.send_and_wait("logs.raw", line.encode(), key=service.encode())
                else:  # a round-robin shipper
                    await producer.send_and_wait("logs.raw", line.encode(), partition=i % PARTITIONS)
        finally:
            await producer.stop()

    asyncio.run(run())


def send_confluent(bootstrap: str, lines: list[tuple[str, str, int]], keyed: bool) -> None:
    from confluent_kafka import Producer

    failed: list[str] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for service, line, _e in lines:
        producer.produce("logs.raw", line.encode(), key=service.encode() if keyed else None,
                         on_delivery=lambda err, _msg: failed.append(str(err)) if err else None)
        producer.poll(0)
    assert producer.flush(30) == 0, "confluent-kafka could not deliver everything in 30 s"
    assert failed == []


def send_kcat(bootstrap: str, lines: list[tuple[str, str, int]], keyed: bool) -> None:
    text = "".join((f"{service}:{line}" if keyed else line) + "\n" for service, line, _e in lines)
    done = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "logs.raw", *(["-K", ":"] if keyed else [])],
                          input=text.encode(), capture_output=True, timeout=60)
    assert done.returncode == 0 and b"ERROR" not in done.stderr, done.stderr.decode()


SENDERS = {"aiokafka": send_aiokafka, "confluent-kafka": send_confluent, "kcat": send_kcat}


def test_every_error_counted_once_whatever_the_client_partitioner_or_key(fresh_broker, tmp_path):
    kind = fresh_broker.kind
    producers = PRODUCERS[kind]
    if any(client == "kcat" for client, _k in producers) and shutil.which("kcat") is None:
        pytest.skip("kcat not installed (.ci/run installs it)")
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap, PARTITIONS)
    worker = WorkerProcess(base_env(tmp_path, bootstrap, f"e2e-clients-{kind}", LOGWARDEN_STAGES=EXTRACT_ONLY),
                           tmp_path / "run").start()
    t0 = (time.time() // 60) * 60 - 10 * 60
    expected: dict[tuple[str, int], Counter] = defaultdict(Counter)
    lines_of: Counter = Counter()
    try:
        # Minute by minute, every producer in turn: the same minutes arrive from all of them.
        for minute in range(3):
            for index, (client, keyed) in enumerate(producers):
                lines = minute_of_lines(t0, minute, index, client, keyed)
                SENDERS[client](bootstrap, lines, keyed)
                for service, line, is_error in lines:
                    lines_of[service] += 1
                    if is_error:
                        expected[(service, minute)][json.loads(line)["message"]] += 1
        tick_every_partition(bootstrap, time.time(), PARTITIONS)
        total = {s: sum(sum(c.values()) for (svc, _m), c in expected.items() if svc == s) for s in SERVICES}

        def counted(windows):
            return all(sum(w["errors"] for w in windows if w["service"] == s) >= total[s]
                       and {t0 + 60 * m for m in range(3)} <= {w["window_start"] for w in windows if w["service"] == s}
                       for s in SERVICES)

        windows = wait_for(bootstrap, "signals.windows", counted, timeout=120, worker=worker)
    finally:
        worker.stop()

    # The scenario really splits each service: murmur2 and CRC32 disagree, unkeyed spreads.
    records = shipped_lines(bootstrap)
    assert len(records) == sum(lines_of.values())
    murmur2 = DefaultPartitioner()
    all_parts = list(range(PARTITIONS))
    for partition, key, record in records:
        client, _, keying = record["producer"].partition("/")
        if keying == "keyed":
            want = (murmur2(key, all_parts, all_parts) if client == "aiokafka"
                    else zlib.crc32(key) % PARTITIONS)  # librdkafka consistent_random: CRC32
            assert (key, partition) == (record["service"].encode(), want), record["producer"]
        else:
            assert key is None
    for service in SERVICES:
        assert len({p for p, _k, r in records if r["service"] == service}) >= 3, service

    for service in SERVICES:
        mine = [w for w in windows if w["service"] == service]
        assert max(Counter(w["id"] for w in mine).values()) == 1, f"{service}: a window id was emitted twice"
        assert max(Counter(w["window_start"] for w in mine).values()) == 1, f"{service}: a minute has two windows"
        by_minute = {int((w["window_start"] - t0) // 60): w for w in mine}
        want = {m: sum(c.values()) for (s, m), c in expected.items() if s == service}
        assert {m: w["errors"] for m, w in by_minute.items() if w["errors"]} == want
        for minute in range(3):
            findings = {f["template"]: f["count"] for f in by_minute[minute]["findings"]}
            assert findings == dict(expected[(service, minute)]), (service, minute)
        # Every line is counted once. (Lines that are only counted, not parsed, are placed by
        # broker time plus the service's sampled lag, so in a burst of old minutes a few
        # info lines may be counted as late in a later window: their total is exact.)
        assert sum(w["lines"] for w in mine) == lines_of[service]
