"""A batch loop of a worker that is alone by construction (a replay's, `batch_assign_all`)
takes every partition of its topic without joining its consumer group, and still commits
to that group: `logwarden replay` tells its end by those commits, so a broker that refused
them would leave a replay waiting forever. On both brokers, with the production loop."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from streams.kafka import client, create_topics
from streams.kafka.batch import BatchService, BatchSpec

pytestmark = pytest.mark.broker

PARTITIONS = 4
PER_PARTITION = 25


class _Counting:
    """An extractor that remembers the offsets it was fed and publishes nothing."""

    resume_at = None

    def __init__(self, partition: int, fed: dict[int, list[int]]):
        self.partition, self.fed = partition, fed

    def feed_records(self, records):  # noqa: ANN001
        self.fed.setdefault(self.partition, []).extend(r.offset for r in records)

    def flush(self, caught_up: bool):  # noqa: ANN201, ARG002
        offsets = self.fed.get(self.partition)
        return [], (offsets[-1] if offsets else None)


def test_a_lone_batch_loop_reads_every_partition_once_and_commits_to_its_group(broker):
    prefix = f"lone-{uuid.uuid4().hex[:8]}."
    asyncio.run(create_topics(broker.bootstrap, PARTITIONS, prefix=prefix))
    source = prefix + "logs.raw"
    fed: dict[int, list[int]] = {}
    cfg = SimpleNamespace(broker=broker.bootstrap, app_id=f"{prefix}app", session_timeout_s=10.0,
                          rebalance_timeout_s=10.0, batch_assign_all=True, batch_flush_when_caught_up=True)
    spec = BatchSpec(name="extract", source=source, checkpoint_topic=prefix + "signals.partials",
                     make=lambda partition, _checkpoint: _Counting(partition, fed),
                     is_checkpoint=lambda _value, _partition: False)

    async def run() -> dict[TopicPartition, int]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for partition in range(PARTITIONS):
                for i in range(PER_PARTITION):
                    await producer.send(source, f"line {i}".encode(), partition=partition)
            await producer.flush()
        finally:
            await producer.stop()
        service = BatchService(spec, cfg)
        await service._connect()
        loop = service.loop_
        try:
            assert {tp.partition for tp in loop.consumer.assignment()} == set(range(PARTITIONS))
            deadline = asyncio.get_running_loop().time() + 60
            while sum(map(len, fed.values())) < PARTITIONS * PER_PARTITION:
                assert asyncio.get_running_loop().time() < deadline, f"fed only {fed}"
                await loop.poll_once()
            await loop.flush(commit=True)
        finally:
            await loop.consumer.stop()
            await loop.producer.stop()
        group = await client.started(client.consumer(broker.bootstrap, group=f"{cfg.app_id}-extract"),
                                     broker.bootstrap)
        try:
            return {tp: await group.committed(tp) for tp in (TopicPartition(source, p) for p in range(PARTITIONS))}
        finally:
            await client.quiet_stop(group)

    committed = asyncio.run(run())
    assert {p: sorted(offsets) for p, offsets in fed.items()} == {
        p: list(range(PER_PARTITION)) for p in range(PARTITIONS)}
    assert {tp.partition: offset for tp, offset in committed.items()} == {p: PER_PARTITION for p in range(PARTITIONS)}
