"""Thin Faust shell of extraction: a batch stage and the window agent.

Stage 1 (`BatchExtractor`, a service inside the worker) reads `logs.raw` with aiokafka
`getmany`, so Faust's per-event cost never applies to log lines. It feeds the pure
`PartitionExtractor` and, about once a second per partition, publishes one
`PartialAggregate` to the same partition number of `signals.partials`, waits for the
acknowledgement, then commits. The partials topic is also its checkpoint: on
assignment it resumes after the last offset range already published, so a crash
between produce and commit counts nothing twice.

Stage 2 (`windows` agent) folds partials into a changelogged per-partition
`WindowBook` and publishes every window the watermark closed to `signals.windows`.
Never: parse lines here, read a wall clock for window decisions, or raise out of the
agent loop (bad input becomes a dead letter).
"""

from __future__ import annotations

import asyncio
import logging
import time

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from mode import Service

from agents.extract.partition import PartitionExtractor
from agents.extract.windows import WindowBook, apply_partial
from schemas.records import PartialAggregate, encode
from streams.logs import trace_context

__all__ = ["BatchExtractor", "register"]

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 1.0  # one partial per partition per second: Faust's cost applies to these only
FLUSH_RECORDS = 200_000
COMMIT_TIMEOUT_S = 5.0


class ExtractionLoop:
    """The batch loop without Faust: fetch, feed, flush, publish, commit.

    Shared by the worker's service and by the benchmark, so what is measured is what runs.
    """

    def __init__(self, extract_cfg, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer):
        self.cfg = extract_cfg
        self.consumer = consumer
        self.producer = producer
        self.extractors: dict[int, PartitionExtractor] = {}
        self.last_flush = time.monotonic()
        self.fed = 0
        self.lines_total = 0

    def assign(self, partition: int, last: PartialAggregate | None = None) -> None:
        if last is None:
            self.extractors[partition] = PartitionExtractor(partition, self.cfg)
            return
        self.extractors[partition] = PartitionExtractor(partition, self.cfg, watermark=last.watermark,
                                                          resume_after=last.offset_to)
        self.consumer.seek(TopicPartition("logs.raw", partition), last.offset_to + 1)

    def revoke(self, partition: int) -> None:
        self.extractors.pop(partition, None)

    async def poll_once(self, timeout_ms: int = 200) -> int:
        batch = await self.consumer.getmany(timeout_ms=timeout_ms, max_records=50_000)
        n = 0
        for tp, records in batch.items():
            ex = self.extractors.get(tp.partition)
            if ex is None:
                # Not set up (yet): hand the records back rather than skip them.
                self.consumer.seek(tp, records[0].offset)
                continue
            ex.feed_records(records)
            n += len(records)
        self.fed += n
        self.lines_total += n
        if time.monotonic() - self.last_flush >= FLUSH_INTERVAL_S or self.fed >= FLUSH_RECORDS:
            await self.flush(commit=True)
        return n

    async def flush(self, commit: bool = True) -> int:
        """Publish one partial per partition (acknowledged), then commit. Returns partials sent."""
        self.last_flush = time.monotonic()
        self.fed = 0
        offsets = {}
        # Enqueue everything, then wait for all acknowledgements at once: one linger
        # and one round trip per flush instead of one per partition.
        pending = []
        for partition, ex in list(self.extractors.items()):
            partial, letters = ex.flush()
            for letter in letters:
                pending.append(await self.producer.send("dead.letter", encode(letter), key=b"logs.raw"))
            if partial is None:
                continue
            pending.append(await self.producer.send("signals.partials", encode(partial), partition=partition,
                                                    key=str(partition).encode()))
            offsets[TopicPartition("logs.raw", partition)] = partial.offset_to + 1
        await asyncio.gather(*pending)  # raises if any send failed: then nothing is committed
        if commit and offsets:
            try:
                # Bounded: during a rebalance a commit can wait on the coordinator, and the
                # partials topic already records what was covered.
                await asyncio.wait_for(self.consumer.commit(offsets), COMMIT_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - rebalance in progress: signals.partials is the checkpoint
                log.warning("commit of logs.raw offsets failed; resuming from signals.partials")
        return len(offsets)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: "BatchExtractor"):
        self.owner = owner

    async def on_partitions_revoked(self, revoked):
        loop = self.owner.loop_
        if loop is None:
            return
        # Publish what was seen, but do not commit here: a commit inside a rebalance can
        # block the join; the next owner resumes after the last published partial.
        await loop.flush(commit=False)
        for tp in revoked:
            loop.revoke(tp.partition)

    async def on_partitions_assigned(self, assigned):
        # Fetching may return records while we look up where each partition resumes:
        # `poll_once` hands records of a partition without an extractor back (seek), so
        # nothing is read before its position is set. (pause/resume here left partitions
        # stuck after a rebalance under load on Kafka, so it is not used.)
        for tp in assigned:
            self.owner.loop_.revoke(tp.partition)
        for tp in assigned:
            self.owner.loop_.assign(tp.partition, await _last_partial_retrying(self.owner.bootstrap, tp.partition))


def extract_consumer(cfg, group: str | None = None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=cfg.broker.removeprefix("kafka://"), group_id=group or f"{cfg.app_id}-extract",
        enable_auto_commit=False, auto_offset_reset="earliest",
        session_timeout_ms=int(cfg.session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(3.0, cfg.session_timeout_s / 3) * 1000),
        rebalance_timeout_ms=int(cfg.rebalance_timeout_s * 1000),
        max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=32 * 1024 * 1024,
    )


def extract_producer(cfg) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=cfg.broker.removeprefix("kafka://"), acks="all", linger_ms=5,
                            max_request_size=16 * 1024 * 1024)


class BatchExtractor(Service):
    """Stage 1 inside the worker: logs.raw -> signals.partials, whole batches at a time."""

    def __init__(self, cfg, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        self.bootstrap = cfg.broker.removeprefix("kafka://")
        self.loop_: ExtractionLoop | None = None

    async def on_start(self) -> None:
        producer = extract_producer(self.cfg)
        await producer.start()
        consumer = extract_consumer(self.cfg)
        await consumer.start()
        self.loop_ = ExtractionLoop(self.cfg.extract, consumer, producer)
        consumer.subscribe(["logs.raw"], listener=_Rebalance(self))
        self.add_future(self._run())

    async def on_stop(self) -> None:
        loop, self.loop_ = self.loop_, None
        if loop is None:
            return
        try:
            await loop.flush(commit=True)
        except Exception:  # noqa: BLE001 - stopping: signals.partials is the checkpoint
            log.exception("final flush failed")
        await loop.consumer.stop()  # leaves the group
        await loop.producer.stop()

    async def _run(self) -> None:
        while not self.should_stop and self.loop_ is not None:
            try:
                await self.loop_.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - broker hiccup: nothing was committed, go on
                log.exception("extraction batch failed; retrying")
                await asyncio.sleep(1.0)


async def _last_partial_retrying(bootstrap: str, partition: int, attempts: int = 5) -> PartialAggregate | None:
    for attempt in range(attempts):
        try:
            return await _last_partial(bootstrap, partition)
        except Exception:  # noqa: BLE001 - metadata not ready yet, broker busy: try again
            if attempt == attempts - 1:
                raise
            log.warning("reading the last partial of partition %d failed; retrying", partition)
            await asyncio.sleep(0.5 * (attempt + 1))
    return None


async def _last_partial(bootstrap: str, partition: int) -> PartialAggregate | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition("signals.partials", partition)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end == 0:
            return None
        consumer.seek(tp, end - 1)
        batch = await consumer.getmany(tp, timeout_ms=5000)
        records = batch.get(tp, [])
        if not records:
            return None
        return PartialAggregate.model_validate_json(records[-1].value)
    finally:
        await consumer.stop()


def register(app: faust.App, topology, cfg) -> None:
    books = app.Table("window-books", partitions=cfg.partitions,
                      schema=faust.Schema(key_type=str, value_type=None, key_serializer="json", value_serializer="json"))

    @app.service
    class _Batch(BatchExtractor):
        def __init__(self, **kwargs):
            super().__init__(cfg, **kwargs)

    @app.agent(topology["signals.partials"], concurrency=1, name="logwarden.windows")
    async def windows(stream):
        async for event in stream.events():
            try:
                partial = PartialAggregate.model_validate_json(event.value)
            except Exception as exc:  # noqa: BLE001 - never raise out of an agent
                await topology.reject(event, "extract", "invalid_partial", exc)
                continue
            key = f"p{partial.source_partition}"
            raw = books.get(key)
            book = WindowBook.from_dict(raw) if raw else WindowBook(partition=partial.source_partition)
            summaries = apply_partial(book, partial, cfg.extract)
            for summary in summaries:
                with trace_context(summary.trace_id):
                    await topology.publish("signals.windows", summary.service, summary)
            books[key] = book.to_dict()
