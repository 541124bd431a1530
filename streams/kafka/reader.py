"""Read a whole topic without a consumer group: every partition, from a start to a stop.

The CLI (`tail`, `incidents`, `registry`), the read models and the tests read topics
this way. A reader never joins a group and never commits: it cannot take partitions
from a worker or move anybody's offsets.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kafka import client
from streams.kafka.seek import end_offsets, offset_for_time

__all__ = ["UnknownTopic", "partitions_of", "read_topic"]

Record = tuple[int, int, bytes | None, bytes | None]  # partition, offset, key, value


class UnknownTopic(LookupError):
    """The topic does not exist on the broker."""

    def __str__(self) -> str:
        return f"topic {self.args[0]} does not exist"


async def partitions_of(broker: str, topic: str, attempts: int = 25) -> set[int]:
    """Partition numbers of a topic, asked of the cluster (a new topic's metadata can lag)."""
    admin = await client.started(client.admin(broker), broker)
    try:
        for _ in range(attempts):
            described = await admin.describe_topics([topic])
            if described and described[0]["error_code"] == 0 and described[0]["partitions"]:
                return {p["partition"] for p in described[0]["partitions"]}
            await asyncio.sleep(0.2)
        return set()
    finally:
        await client.quiet_stop(admin)


async def read_topic(broker: str, topic: str, *, from_beginning: bool = True, count: int = 0,
                     idle_timeout: float = 0.0, since: float | None = None, until: float | None = None,
                     to_end: bool = False) -> AsyncIterator[Record]:
    """Yield (partition, offset, key, value) from every partition of a topic.

    Starts at the beginning, at the end, or (`since`, epoch seconds) at each partition's
    first record at or after that time. Stops after `count` records, after
    `idle_timeout` seconds without one, with `to_end` at the end of the topic as it was
    when reading started, and with `until` after the last record at or before that time
    (which also stops at that end). Otherwise it waits for new records for ever.
    Raises `BrokerUnreachable` or `UnknownTopic`.
    """
    consumer = await client.started(client.consumer(broker), broker)
    try:
        parts = consumer.partitions_for_topic(topic) or await partitions_of(broker, topic)
        if not parts:
            raise UnknownTopic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(tps)
        ends = await end_offsets(consumer, tps) if to_end or until is not None else None
        await _seek_start(consumer, tps, since, from_beginning)
        until_ms = until * 1000 if until is not None else None
        done: set[TopicPartition] = set()
        seen = 0
        idle_since = time.monotonic()
        while True:
            if ends is not None:
                # Positions, not record offsets: control records and compaction leave gaps.
                done.update([tp for tp in tps if tp not in done and await consumer.position(tp) >= ends[tp]])
                if len(done) == len(tps):
                    return
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            if not batch:
                if idle_timeout and time.monotonic() - idle_since > idle_timeout:
                    return
                continue
            idle_since = time.monotonic()
            for tp, records in batch.items():
                for rec in records:
                    past_until = until_ms is not None and rec.timestamp > until_ms
                    if ends is not None and (rec.offset >= ends[tp] or past_until):
                        done.add(tp)
                        consumer.pause(tp)
                        break
                    yield tp.partition, rec.offset, rec.key, rec.value
                    seen += 1
                    if count and seen >= count:
                        return
    finally:
        await client.quiet_stop(consumer)


async def _seek_start(consumer: AIOKafkaConsumer, tps: list[TopicPartition], since: float | None,
                      from_beginning: bool) -> None:
    if since is not None:
        starts = {tp: await offset_for_time(consumer, tp, int(since * 1000)) for tp in tps}
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
    elif from_beginning:
        await consumer.seek_to_beginning(*tps)
    else:
        await consumer.seek_to_end(*tps)
