"""The batch loop: a high-volume topic read whole batches at a time with `getmany`.

Faust hands records to agents one at a time (about 10k/s per process); log lines need
whole-batch work. A stage declares a batch loop with `stage.batch(...)`: which topic it
reads, how to build the pure extractor of one source partition from its last
checkpoint, and how to recognise that checkpoint among the records it publishes. This
module owns everything Kafka about it: the consumer group, fetching, handing each
partition's records to its extractor, publishing what the extractors flush (acknowledged
by the broker), then committing, and the rebalance handling.

A worker alone by construction (a replay's) has its loops take every partition of their
topic without joining the group (`batch_assign_all`); they still commit to it.

Checkpoint: what a flush publishes is also the record of where it stopped, so on
assignment the loop resumes exactly after the last range published (a crash between
produce and commit counts nothing twice). A partition whose set-up failed is retried on
every poll and its records are handed back (seek) until it has an extractor: no
partition is ever read without one, or left without one. A feed or a flush that fails
sets every partition up again from its last stored checkpoint (`rewind`): the loop
never reads on past records whose output was not stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from mode import Service

from streams.kafka import client
from streams.kafka.reader import partitions_of

__all__ = ["BatchLoop", "BatchService", "BatchSpec", "Extractor", "flush_producer", "last_matching_each"]

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0  # one flush per second: downstream per-record costs apply to these only
# With `flush_when_caught_up` (a replay's worker, whose input is all there or arriving
# as fast as it can be sent): a loop that has read every partition to its end flushes at
# once, not at the next interval, but not more often than this.
CAUGHT_UP_FLUSH_S = 0.1
FLUSH_RECORDS = 200_000
# A flush sends every book a partial from each source partition the loop holds. With
# aiokafka's 16 KiB batches, a partial over that size waited for the one before it to the
# same partition to leave (a round trip each: ~20 ms of every flush of 300,000 lines on
# Kafka, measured); in batches of up to 512 KiB, one request carries a book's partials
# (under the 1 MiB a broker takes by default: Kafka's message.max.bytes, Redpanda's
# kafka_batch_max_bytes).
FLUSH_BATCH_BYTES = 512 * 1024


def flush_producer(broker: str) -> AIOKafkaProducer:
    """The producer a batch loop flushes with (not started)."""
    return client.producer(broker, max_batch_size=FLUSH_BATCH_BYTES)
COMMIT_TIMEOUT_S = 5.0
SCAN_CHUNK = 512


class Extractor(Protocol):
    """The pure side of a batch loop, one per source partition."""

    resume_at: int | None  # first offset to read (None: the group's committed position)
    # An extractor may also say `urgent` (output waiting that should not wait for the
    # next flush interval, e.g. windows that just closed).

    def feed_records(self, records: Sequence[Any]) -> None: ...

    def flush(self, caught_up: bool) -> tuple[list[tuple[str, int, bytes, bytes]], int | None]:
        """Records to publish as (topic, partition, key, value), and the last source offset
        covered; `caught_up`: the partition has nothing more to read right now."""


@dataclass(frozen=True)
class BatchSpec:
    """A stage's declaration of a batch loop."""

    name: str
    source: str  # topic read with getmany
    checkpoint_topic: str  # where a partition's checkpoint records are (partition p for source p)
    make: Callable[[int, bytes | None], Extractor]  # (partition, last checkpoint value) -> extractor
    is_checkpoint: Callable[[bytes, int], bool]  # (value, source partition) -> is its checkpoint


async def last_matching_each(broker: str, topic: str, partitions: Sequence[int],
                             match: Callable[[bytes, int], bool]) -> dict[int, bytes | None]:
    """The newest record value of each partition for which `match(value, partition)` is
    true (scanning back), with one reader: the set-up of a worker's partitions costs one
    client start, not one per partition (about half a second each)."""
    reader = await client.started(client.consumer(broker), broker)
    try:
        tps = {p: TopicPartition(topic, p) for p in partitions}
        begins = await reader.beginning_offsets(list(tps.values()))
        ends = await reader.end_offsets(list(tps.values()))
        found: dict[int, bytes | None] = {}
        for partition, tp in tps.items():
            reader.assign([tp])  # one partition at a time: nothing prefetched from the others
            found[partition] = await _scan_back(reader, tp, begins[tp], ends[tp],
                                                lambda value, p=partition: match(value, p))
        return found
    finally:
        await client.quiet_stop(reader)


async def _scan_back(reader: AIOKafkaConsumer, tp: TopicPartition, begin: int, end: int,
                     match: Callable[[bytes], bool]) -> bytes | None:
    while end > begin:
        start = max(begin, end - SCAN_CHUNK)
        reader.seek(tp, start)
        found: bytes | None = None
        position = start
        while position < end:
            batch = await reader.getmany(tp, timeout_ms=5000)
            records = batch.get(tp, [])
            if not records:
                break
            for record in records:
                if record.offset >= end:
                    break
                if record.value is not None and match(record.value):
                    found = record.value
            position = records[-1].offset + 1
        if found is not None:
            return found
        end = start
    return None


class BatchLoop:
    """Fetch, feed, flush, publish, commit; no Faust. The worker's service and the
    benchmark both run this, so what is measured is what runs."""

    def __init__(self, spec: BatchSpec, broker: str, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, *,
                 flush_when_caught_up: bool = False):
        self.spec = spec
        self.broker = broker
        self.consumer = consumer
        self.producer = producer
        self.flush_when_caught_up = flush_when_caught_up
        self.extractors: dict[int, Extractor] = {}
        self.pending: set[int] = set()  # assigned, extractor not set up yet
        self.began_at: dict[int, int] = {}  # first offset fed to a partition's extractor
        self.rewind_to: dict[int, int] = {}  # where a partition set up again after a failure reads from
        self.last_flush = time.monotonic()
        self.fed = 0
        self.lines_total = 0

    def assign(self, partition: int, checkpoint: bytes | None) -> None:
        extractor = self.spec.make(partition, checkpoint)
        start = extractor.resume_at if extractor.resume_at is not None else self.rewind_to.get(partition)
        if start is not None:
            self.consumer.seek(TopicPartition(self.spec.source, partition), start)
        self.extractors[partition] = extractor
        self.pending.discard(partition)
        self.rewind_to.pop(partition, None)

    async def set_up(self, *partitions: int) -> None:
        """Find the partitions' checkpoints (one reader for all) and give each an extractor;
        on failure a partition stays pending."""
        if not partitions:
            return
        self.pending.update(partitions)
        try:
            checkpoints = await last_matching_each(self.broker, self.spec.checkpoint_topic, partitions,
                                                   self.spec.is_checkpoint)
        except Exception as exc:  # noqa: BLE001 - metadata not ready, broker busy: retried on the next poll
            log.warning("%s: set-up of partitions %s failed (%s); retrying", self.spec.name,
                        ", ".join(map(str, partitions)), exc.__class__.__name__)
            return
        for partition in partitions:
            if partition in self.pending:  # not revoked meanwhile
                try:
                    self.assign(partition, checkpoints[partition])
                except Exception:  # noqa: BLE001 - stays pending, retried on the next poll; say what it was
                    log.exception("%s: set-up of partition %d failed; retrying", self.spec.name, partition)

    def revoke(self, partition: int) -> None:
        self.extractors.pop(partition, None)
        self.pending.discard(partition)
        self.began_at.pop(partition, None)
        self.rewind_to.pop(partition, None)

    def rewind(self) -> None:
        """A feed or a flush failed: what the extractors were handed or handed over may be
        gone (a flush's records were never stored), and the consumer's position is past it.
        Set every partition up again from its last stored checkpoint and read on from there
        (no checkpoint yet: from the first offset its extractor was fed). Going on instead
        committed past partials and windows nobody stored: lines lost (issue #18)."""
        for partition in list(self.extractors):
            began = self.began_at.get(partition)
            self.revoke(partition)
            if began is not None:
                self.rewind_to[partition] = began
            self.pending.add(partition)

    async def poll_once(self, timeout_ms: int = 200) -> int:
        if self.pending:
            await self.set_up(*sorted(self.pending))
        batch = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=50_000)
        n = 0
        for tp, records in batch.items():
            extractor = self.extractors.get(tp.partition)
            if extractor is None:
                # Not set up (yet): hand the records back rather than skip them.
                self.consumer.seek(tp, records[0].offset)
                continue
            self.began_at.setdefault(tp.partition, records[0].offset)
            try:
                extractor.feed_records(records)
            except Exception:
                self.rewind()
                raise
            n += len(records)
        self.fed += n
        self.lines_total += n
        since = time.monotonic() - self.last_flush
        if (since >= FLUSH_INTERVAL_S or self.fed >= FLUSH_RECORDS
                or any(getattr(e, "urgent", False) for e in self.extractors.values())
                or (self.flush_when_caught_up and self.fed and since >= CAUGHT_UP_FLUSH_S
                    and await self._all_caught_up())):
            await self.flush(commit=True)
        return n

    async def flush(self, commit: bool = True) -> int:
        """Publish what every extractor has (acknowledged), then commit. Returns partitions flushed."""
        self.last_flush = time.monotonic()
        self.fed = 0
        offsets = {}
        # Enqueue everything, then wait for all acknowledgements at once: one linger
        # and one round trip per flush instead of one per partition.
        pending = []
        try:
            for partition, extractor in list(self.extractors.items()):
                records, last = extractor.flush(await self._caught_up(partition))
                for topic, target, key, value in records:
                    pending.append(await self.producer.send(topic, value, key=key,
                                                            partition=target if target >= 0 else None))
                if last is not None:
                    offsets[TopicPartition(self.spec.source, partition)] = last + 1
            await asyncio.gather(*pending)  # raises if any send failed: then nothing is committed
        except Exception:
            self.rewind()  # the extractors have forgotten what this flush was to store
            raise
        if commit and offsets:
            try:
                # Bounded: during a rebalance a commit can wait on the coordinator, and the
                # checkpoint records already say what was covered.
                await asyncio.wait_for(self.consumer.commit(offsets), COMMIT_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - rebalance in progress: the checkpoint records suffice
                log.warning("%s: commit of %s offsets failed; resuming from the checkpoints", self.spec.name,
                            self.spec.source)
        return len(offsets)

    async def _all_caught_up(self) -> bool:
        """Every partition set up and read to the end the broker last said it had."""
        if self.pending or not self.extractors:
            return False
        for partition in self.extractors:
            if not await self._caught_up(partition):
                return False
        return True

    async def _caught_up(self, partition: int) -> bool:
        tp = TopicPartition(self.spec.source, partition)
        try:
            high = self.consumer.highwater(tp)
            # highwater comes with fetch responses, so the position is known by then.
            return high is not None and await asyncio.wait_for(self.consumer.position(tp), 0.5) >= high
        except Exception:  # noqa: BLE001 - not assigned any more, position unknown: not idle
            return False


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: "BatchService"):
        self.owner = owner

    async def on_partitions_revoked(self, revoked):  # noqa: ANN001
        loop = self.owner.loop_
        if loop is None:
            return
        # Publish what was seen, but do not commit here: a commit inside a rebalance can
        # block the join; the next owner resumes after the last published checkpoint.
        try:
            await loop.flush(commit=False)
        except Exception:  # noqa: BLE001 - the next owner re-reads from the last checkpoint
            log.warning("%s: flush on revoke failed", loop.spec.name)
        for tp in revoked:
            loop.revoke(tp.partition)

    async def on_partitions_assigned(self, assigned):  # noqa: ANN001
        # Records fetched meanwhile for a partition without an extractor are handed back
        # (seek) by `poll_once`, so nothing is read before its position is set. (pause and
        # resume here left partitions stuck after a rebalance under load on Kafka.)
        loop = self.owner.loop_
        if loop is None:  # stopping
            return
        for tp in assigned:
            loop.revoke(tp.partition)
            loop.pending.add(tp.partition)
        await loop.set_up(*sorted(tp.partition for tp in assigned))


class BatchService(Service):
    """A batch loop inside the worker, in its own consumer group `<app_id>-<name>`."""

    def __init__(self, spec: BatchSpec, cfg: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.spec = spec
        self.cfg = cfg
        self.loop_: BatchLoop | None = None

    async def on_start(self) -> None:
        # Connecting is the loop's first step, not part of the start: an exception in a
        # service's start ends the whole worker, and a broker restarting while the worker
        # starts must not (`Error: BrokerUnreachable`, exit 1, was measured).
        self.add_future(self._run())

    async def _connect(self) -> None:
        broker = self.cfg.broker
        lone = self.cfg.batch_assign_all
        producer = await client.started(flush_producer(broker), broker)
        consumer = None
        try:
            consumer = await client.started(client.consumer(
                broker, group=f"{self.cfg.app_id}-{self.spec.name}",
                session_timeout_ms=int(self.cfg.session_timeout_s * 1000),
                heartbeat_interval_ms=int(min(3.0, self.cfg.session_timeout_s / 3) * 1000),
                rebalance_timeout_ms=int(self.cfg.rebalance_timeout_s * 1000),
                max_partition_fetch_bytes=8 * 1024 * 1024), broker)
            partitions = await self._partitions(consumer) if lone else []
        except BaseException:
            if consumer is not None:
                await client.quiet_stop(consumer)
            await client.quiet_stop(producer)
            raise
        self.loop_ = BatchLoop(self.spec, broker, consumer, producer,
                               flush_when_caught_up=self.cfg.batch_flush_when_caught_up)
        if not lone:
            consumer.subscribe([self.spec.source], listener=_Rebalance(self))
            return
        # A worker alone by construction (a replay's): every partition, no group join (on
        # Tansu a first JoinGroup is held for about half the session timeout). Commits
        # still go to the group, where `replay` reads how far the loop has come.
        consumer.assign([TopicPartition(self.spec.source, p) for p in partitions])
        self.loop_.pending.update(partitions)

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[int]:
        found = consumer.partitions_for_topic(self.spec.source) or await partitions_of(self.cfg.broker,
                                                                                     self.spec.source)
        if not found:
            raise client.BrokerUnreachable(f"topic {self.spec.source} has no partitions in the broker's metadata")
        return sorted(found)

    async def on_stop(self) -> None:
        loop, self.loop_ = self.loop_, None
        if loop is None:
            return
        try:
            await loop.flush(commit=True)
        except Exception:  # noqa: BLE001 - stopping: the checkpoint records say what was covered
            log.exception("%s: final flush failed", self.spec.name)
        await loop.consumer.stop()  # leaves the group
        await loop.producer.stop()

    async def _run(self) -> None:
        while self.loop_ is None and not self.should_stop:
            try:
                await self._connect()
            except client.BrokerUnreachable as exc:  # logged once per outage (streams.logs throttles it)
                log.warning("%s: %s; retrying", self.spec.name, exc)
                await asyncio.sleep(1.0)
        while not self.should_stop and self.loop_ is not None:
            try:
                await self.loop_.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - broker hiccup: nothing was committed, the loop rewound
                log.exception("%s: batch failed; retrying", self.spec.name)
                await asyncio.sleep(1.0)
