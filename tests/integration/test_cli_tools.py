"""The CLI's client commands on real brokers: `send-logs` keeps going past a line too
large to send, `tail` from the beginning ends by itself, `tail -f` keeps waiting."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
import uuid

import pytest
from aiokafka.admin import NewTopic

from streams.kafka import client, read_topic
from tests.conftest import ROOT, run_cli
from tests.e2e.harness import ensure_topics

pytestmark = pytest.mark.broker

MIB = 1024 * 1024


def _read(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    async def run():
        return [(k, v) async for _p, _o, k, v in read_topic(bootstrap, topic, to_end=True)]

    return asyncio.run(run())


def _new_topic(bootstrap: str, records: int, partitions: int = 3) -> str:
    """A topic of its own with `records` records spread over its partitions."""
    name = f"tail-{uuid.uuid4().hex[:10]}"

    async def run():
        admin = await client.started(client.admin(bootstrap), bootstrap)
        try:
            await admin.create_topics([NewTopic(name, partitions, 1)])
        finally:
            await client.quiet_stop(admin)
        await _produce(bootstrap, name, range(records))

    asyncio.run(run())
    return name


async def _produce(bootstrap: str, topic: str, numbers) -> None:
    producer = await client.started(client.producer(bootstrap, linger_ms=50), bootstrap)
    try:
        # Batches of several records: Tansu lists a batch's base offset + 1 as the end.
        await asyncio.gather(*[await producer.send(topic, f"rec-{i}".encode(), key=f"k{i % 4}".encode())
                               for i in numbers])
    finally:
        await producer.stop()


def test_send_logs_dead_letters_oversized_lines_and_sends_the_rest(fresh_broker, cli_env, tmp_path):
    # A broker of its own: the shared one's logs.raw is counted exactly by another test.
    broker = fresh_broker
    ensure_topics(broker.bootstrap)
    marker = uuid.uuid4().hex
    good = [json.dumps({"service": "checkout", "level": "error", "msg": f"{marker} good {i}"}) for i in (1, 2)]
    huge = f"{marker} huge " + "x" * (17 * MIB)  # over the producer's 16 MiB
    big = f"{marker} big " + "y" * (2 * MIB)  # over extract.max_line_bytes (1 MiB): the worker dead-letters it
    log_file = tmp_path / "mixed.log"
    log_file.write_text("\n".join([good[0], huge, big, good[1]]) + "\n")

    res = run_cli(["send-logs", str(log_file)], dict(cli_env, LOGWARDEN_BROKER=broker.bootstrap))

    assert res.returncode == 0, res.stderr.decode()[-2000:]
    out = res.stdout.decode()
    assert "sent 3 lines to logs.raw" in out and "1 too large, sent to dead.letter" in out, out
    warnings = [l for l in res.stderr.decode().splitlines() if "dead.letter" in l]
    assert len(warnings) == 1 and "line 2 (17.0 MiB)" in warnings[0], warnings
    sent = [(k, v.decode()) for k, v in _read(broker.bootstrap, "logs.raw") if marker.encode() in v]
    assert sorted(sent) == sorted([(b"checkout", good[0]), (b"unknown", big), (b"checkout", good[1])])
    letters = [json.loads(v) for _k, v in _read(broker.bootstrap, "dead.letter") if marker.encode() in v]
    assert [l["payload_bytes"] for l in letters] == [len(huge)]
    for letter in letters:
        assert (letter["source_topic"], letter["stage"], letter["reason"]) == ("logs.raw", "send-logs", "too_large")
        assert (letter["partition"], letter["offset"]) == (-1, -1)
        assert len(letter["payload"]) <= 2000


def test_tail_from_the_beginning_ends_at_the_end(broker, cli_env):
    topic = _new_topic(broker.bootstrap, 40)
    env = dict(cli_env, LOGWARDEN_BROKER=broker.bootstrap)

    res = run_cli(["tail", topic, "--from-beginning"], env, timeout=60)

    assert res.returncode == 0, res.stderr.decode()
    lines = res.stdout.decode().splitlines()
    assert sorted(int(l.split("\t")[2].removeprefix("rec-")) for l in lines) == list(range(40))
    since = run_cli(["tail", topic, "--since", "0"], env, timeout=60)
    assert since.returncode == 0 and len(since.stdout.decode().splitlines()) == 40


def test_tail_follow_keeps_waiting_for_new_records(broker, cli_env):
    topic = _new_topic(broker.bootstrap, 5)
    env = dict(cli_env, LOGWARDEN_BROKER=broker.bootstrap)
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "tail", topic, "--from-beginning", "-f"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    try:
        first = [lines.get(timeout=60) for _ in range(5)]
        asyncio.run(_produce(broker.bootstrap, topic, [5]))
        later = lines.get(timeout=60)
        assert proc.poll() is None  # still following
    finally:
        proc.terminate()
        proc.wait(30)
    assert sorted(l.split(b"\t")[2].strip() for l in first) == [f"rec-{i}".encode() for i in range(5)]
    assert later.split(b"\t")[2].strip() == b"rec-5"
