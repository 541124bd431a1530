"""Replay by time for post-mortems: `logwarden tail TOPIC --since T --until T` reads
exactly the records of that interval, on Kafka (offsets_for_times) and on the embedded
Tansu (which answers that lookup with nothing usable: binary search on offsets)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from streams.kafka import create_topics
from tests.conftest import run_cli

pytestmark = pytest.mark.broker

T0 = 1_790_000_000.0


def test_tail_since_until_reads_exactly_the_interval(broker, cli_env):
    # A topic of its own: the broker is shared with the tests before this one, and records
    # they wrote to `approvals` (stamped now, before these in offset order) made `--until`
    # end two partitions at their first record, printing nothing of them (two full runs).
    prefix = f"tail-{uuid.uuid4().hex[:8]}."
    asyncio.run(create_topics(broker.bootstrap, 4, prefix=prefix))
    topic = prefix + "approvals"  # any declared topic; records with producer-set timestamps

    async def fill():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await p.start()
        try:
            for i in range(300):
                await p.send_and_wait(topic, f"{broker.kind}-rec-{i}".encode(), key=f"k{i % 5}".encode(),
                                      timestamp_ms=int((T0 + i * 10) * 1000))
        finally:
            await p.stop()

    asyncio.run(fill())
    env = dict(cli_env, LOGWARDEN_BROKER=broker.bootstrap)
    res = run_cli(["tail", topic, "--since", str(T0 + 1000), "--until", str(T0 + 1990)], env, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    got = sorted(int(line.split("\t")[2].rsplit("-", 1)[1]) for line in res.stdout.decode().splitlines()
                 if f"{broker.kind}-rec-" in line)
    assert got == list(range(100, 200))
