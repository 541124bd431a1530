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


def test_the_replay_worker_session_timeout_is_one_the_broker_lets_a_consumer_join_with(broker):
    """A replay worker asked Apache Kafka for a 2 s session, under the 6 s its brokers
    allow by default (`group.min.session.timeout.ms`, Kafka's configuration reference):
    the join was refused, the worker never started, and the replay waited its timeout.
    The timeout chosen from what the broker says of itself is one a consumer joins with,
    and the short one (Tansu holds a first join for half of it) only where allowed."""
    from aiokafka import TopicPartition

    from streams.kafka import client
    from streams.kafka.admin import least_session_timeout
    from streams.replay.namespace import session_timeout_s

    topic = f"session-{uuid.uuid4().hex[:8]}"

    async def run() -> tuple[float, set]:
        await create_topics(broker.bootstrap, 2, prefix=topic + ".")
        admin = await client.started(client.admin(broker.bootstrap), broker.bootstrap)
        try:
            session_s = session_timeout_s(*await least_session_timeout(admin))
        finally:
            await client.quiet_stop(admin)
        ms = int(session_s * 1000)
        consumer = client.consumer(broker.bootstrap, group=topic, session_timeout_ms=ms,
                                   heartbeat_interval_ms=ms // 3, rebalance_timeout_ms=ms)
        await consumer.start()
        try:
            consumer.subscribe([topic + ".logs.raw"])
            for _ in range(100):  # the join happens inside getmany; 10 s at most
                await consumer.getmany(timeout_ms=100)
                if consumer.assignment():
                    break
            return session_s, set(consumer.assignment())
        finally:
            await consumer.stop()

    session_s, assigned = asyncio.run(run())
    assert assigned == {TopicPartition(topic + ".logs.raw", p) for p in range(2)}
    assert session_s == (2.0 if broker.kind == "tansu" else 6.0)


def test_the_reports_lines_are_read_from_each_span_of_each_partition_and_nothing_between(broker):
    """The replay report's lines around incident starts (`_records_in`): several spans of
    one partition and spans of others, read together. Each record of a span whose time is
    in a range comes back once; nothing between two spans, after the last, or outside the
    ranges does."""
    from streams.replay.run import _records_in

    prefix = f"near-{uuid.uuid4().hex[:8]}."
    asyncio.run(create_topics(broker.bootstrap, 4, prefix=prefix))
    topic = prefix + "logs.raw"

    async def fill():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await p.start()
        try:
            for partition in (0, 2):
                for i in range(100):  # offset i, one second apart
                    await p.send_and_wait(topic, f"p{partition}-{i}".encode(), partition=partition,
                                          timestamp_ms=int((T0 + i) * 1000))
        finally:
            await p.stop()

    asyncio.run(fill())
    spans = {0: [(10, 20), (50, 60)], 2: [(70, 100)]}
    ranges = [(T0 + 12, T0 + 55), (T0 + 90, T0 + 95)]  # [from, to)
    got = asyncio.run(_records_in(broker.bootstrap, topic, spans, ranges))
    values = sorted(value.decode() for _at, _offset, _key, value in got)
    expected = sorted([f"p0-{i}" for i in range(12, 20)] + [f"p0-{i}" for i in range(50, 55)]
                      + [f"p2-{i}" for i in range(90, 95)])
    assert values == expected
