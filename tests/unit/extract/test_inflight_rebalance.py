"""Issue #18: partials in flight across a rebalance are applied exactly once.

The window stage's real batch loop (`streams.kafka.batch.BatchLoop` with the real
`BookKeeper` and rebalance listener) runs against an in-memory broker whose producer
acknowledges only when the test says so and whose consumer group keeps its committed
offsets. Two workers own `signals.partials` partition 0 in turn:

- a worker applies partials and publishes its book's snapshot, then dies (SIGKILL)
  before the broker acknowledged it: nothing may be committed past what a stored
  snapshot holds, or the next owner starts after partials nobody applied (the loss
  the chaos run saw: two partials of a window never counted);
- a worker applied partials it had not flushed yet when its partition was revoked:
  the revoke publishes the snapshot (or fails to), and the next owner (another worker,
  or the same one re-assigned) resumes from the last stored snapshot;
and partials keep arriving after the new owner joined. In every case the window's
`lines` equal the lines the partials carry: each applied once, none lost.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition

import streams.kafka.batch as batch_module
from agents.extract.books import BOOKS, WINDOWS, BookKeeper
from agents.extract.config import ExtractConfig
from schemas.records import PartialAggregate, WindowSummary
from streams.kafka.batch import BatchLoop, BatchSpec, _Rebalance

from .conftest import T0

PARTIALS = "signals.partials"
TP = TopicPartition(PARTIALS, 0)
GROUP = "chaos-windows"


@dataclass(frozen=True)
class Rec:
    offset: int
    key: bytes | None
    value: bytes


@dataclass
class MemoryBroker:
    """Topics as lists per partition and one group's committed offsets."""

    logs: dict[tuple[str, int], list[Rec]] = field(default_factory=dict)
    committed: dict[TopicPartition, int] = field(default_factory=dict)

    def append(self, topic: str, partition: int, key: bytes | None, value: bytes) -> None:
        log = self.logs.setdefault((topic, partition), [])
        log.append(Rec(len(log), key, value))

    def log(self, topic: str, partition: int = 0) -> list[Rec]:
        return self.logs.get((topic, partition), [])


class HeldProducer:
    """Stores a record only once acknowledged: at once (`auto_ack`), on `ack_all()`, or never
    (`crash()`: the process died with the sends in flight), or `fail_all()`."""

    def __init__(self, broker: MemoryBroker, auto_ack: bool = True):
        self.broker = broker
        self.auto_ack = auto_ack
        self.in_flight: list[tuple[asyncio.Future, tuple]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None):
        fut = asyncio.get_running_loop().create_future()
        record = (topic, 0 if partition is None else partition, key, value)
        if self.auto_ack:
            self.broker.append(*record)
            fut.set_result(None)
        else:
            self.in_flight.append((fut, record))
        return fut

    def ack_all(self) -> None:
        for fut, record in self.in_flight:
            self.broker.append(*record)
            fut.set_result(None)
        self.in_flight = []

    def fail_all(self) -> None:
        for fut, _record in self.in_flight:
            fut.set_exception(ConnectionError("broker gone"))
        self.in_flight = []

    def crash(self) -> None:
        self.in_flight = []


class GroupConsumer:
    """A group member: fetches from its position, which starts at the group's committed
    offset (or the beginning, `auto_offset_reset=earliest`) when a partition is assigned."""

    def __init__(self, broker: MemoryBroker):
        self.broker = broker
        self.positions: dict[TopicPartition, int] = {}

    def assign(self, tps: list[TopicPartition]) -> None:
        self.positions = {tp: self.broker.committed.get(tp, 0) for tp in tps}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None) -> dict:
        out = {}
        for tp, position in self.positions.items():
            records = self.broker.log(tp.topic, tp.partition)[position:]
            if records:
                out[tp] = records
                self.positions[tp] = records[-1].offset + 1
        return out

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.broker.log(tp.topic, tp.partition))

    async def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if set(offsets) - set(self.positions):
            raise RuntimeError("CommitFailedError: not assigned")
        self.broker.committed.update(offsets)


class Worker:
    """One worker's window stage: the real batch loop and rebalance listener."""

    def __init__(self, broker: MemoryBroker, auto_ack: bool = True):
        self.consumer = GroupConsumer(broker)
        self.producer = HeldProducer(broker, auto_ack)
        cfg = ExtractConfig()
        spec = BatchSpec(name="windows", source=PARTIALS, checkpoint_topic=BOOKS,
                         make=lambda partition, checkpoint: BookKeeper(partition, cfg, checkpoint),
                         is_checkpoint=lambda value, partition: True)
        self.loop = BatchLoop(spec, "memory:9092", self.consumer, self.producer)
        self.listener = _Rebalance(SimpleNamespace(loop_=self.loop))

    async def assigned(self) -> None:
        self.consumer.assign([TP])
        await self.listener.on_partitions_assigned({TP})

    async def revoked(self) -> None:
        await self.listener.on_partitions_revoked({TP})
        self.consumer.positions = {}

    async def poll_and_flush(self) -> None:
        self.loop.last_flush = float("-inf")  # the flush interval has passed
        await self.loop.poll_once(timeout_ms=0)


@pytest.fixture
def broker(monkeypatch) -> MemoryBroker:
    memory = MemoryBroker()

    async def last_matching_each(_bootstrap, topic, partitions, match):  # the newest stored snapshots
        found = {}
        for partition in partitions:
            values = [r.value for r in memory.log(topic, partition) if match(r.value, partition)]
            found[partition] = values[-1] if values else None
        return found

    monkeypatch.setattr(batch_module, "last_matching_each", last_matching_each)
    return memory


def publish_partial(broker: MemoryBroker, index: int, lines: int) -> None:
    """What the extract stage publishes: partial `index` of source partition 0 covers
    offsets 10*index .. 10*index+9, `lines` lines of service api in minute T0, and moves
    the watermark to T0 + index (the minute stays open)."""
    windows = {"api": {str(int(T0)): {"lines": lines, "errors": 0}}}
    value = PartialAggregate(source_partition=0, offset_from=10 * index, offset_to=10 * index + 9,
                             watermark=T0 + index, windows=windows, source_partitions=1)
    broker.append(PARTIALS, 0, b"0", value.model_dump_json().encode())


def close_minute(broker: MemoryBroker, index: int) -> None:
    """A partial with no lines whose watermark passes T0's end plus the allowed lateness."""
    value = PartialAggregate(source_partition=0, offset_from=10 * index, offset_to=10 * index + 9,
                             watermark=T0 + 60 + ExtractConfig().allowed_lateness_s + 1, source_partitions=1)
    broker.append(PARTIALS, 0, b"0", value.model_dump_json().encode())


def lines_counted(broker: MemoryBroker) -> int:
    """Lines of minute T0 as the incident stage reads them: the window's latest version
    (a window re-emitted after a restart is identical and replaces the first)."""
    latest: dict[str, WindowSummary] = {}
    for record in broker.log(WINDOWS):
        window = WindowSummary.model_validate_json(record.value)
        if window.window_start == T0:
            assert latest.get(window.service, window).lines == window.lines, "a re-emitted window changed"
            latest[window.service] = window
    assert list(latest) == ["api"], "minute T0 was never closed"
    return latest["api"].lines


LINES = [3, 5, 7, 11, 13, 17, 19]  # partial i carries LINES[i] lines


async def _settle() -> None:
    """Let every task that can run, run (the in-memory fakes never wait on anything)."""
    for _ in range(50):
        await asyncio.sleep(0)


def test_a_worker_killed_with_its_snapshot_in_flight_loses_no_partial(broker):
    async def scenario():
        for i in range(4):
            publish_partial(broker, i, LINES[i])
        first = Worker(broker, auto_ack=False)
        await first.assigned()
        polling = asyncio.ensure_future(first.poll_and_flush())  # applies 0..3, sends the snapshot
        await _settle()
        assert [r[0] for _f, r in first.producer.in_flight] == [BOOKS], "the snapshot is in flight"
        polling.cancel()  # SIGKILL: the snapshot is never acknowledged
        first.producer.crash()
        await asyncio.gather(polling, return_exceptions=True)
        assert broker.log(BOOKS) == []

        second = Worker(broker)  # takes the partition over
        await second.assigned()
        await second.poll_and_flush()
        for i in range(4, 7):  # partials published after the new owner joined
            publish_partial(broker, i, LINES[i])
        await second.poll_and_flush()
        close_minute(broker, 7)
        await second.poll_and_flush()

    asyncio.run(scenario())
    assert lines_counted(broker) == sum(LINES)


@pytest.mark.parametrize("revoke_flush", ["acknowledged", "failed"])
@pytest.mark.parametrize("next_owner", ["another worker", "the same worker"])
def test_partials_applied_but_not_flushed_at_a_revoke_are_counted_once(broker, revoke_flush, next_owner):
    async def scenario():
        for i in range(3):
            publish_partial(broker, i, LINES[i])
        first = Worker(broker)
        await first.assigned()
        await first.poll_and_flush()  # 0..2 applied, snapshot stored, offsets committed
        assert broker.committed[TP] == 3
        for i in range(3, 5):
            publish_partial(broker, i, LINES[i])
        first.loop.last_flush = float("inf")  # the next flush is not due yet
        await first.loop.poll_once(timeout_ms=0)  # 3..4 applied, not flushed: in flight at the revoke
        first.producer.auto_ack = False
        revoking = asyncio.ensure_future(first.revoked())  # publishes the snapshot, does not commit
        await _settle()
        if revoke_flush == "acknowledged":
            first.producer.ack_all()
        else:
            first.producer.fail_all()  # the broker dropped the connection: the old snapshot stands
        await revoking
        first.producer.auto_ack = True
        assert broker.committed[TP] == 3

        owner = first if next_owner == "the same worker" else Worker(broker)
        await owner.assigned()
        for i in range(5, 7):  # partials published after the rejoin
            publish_partial(broker, i, LINES[i])
        await owner.poll_and_flush()
        close_minute(broker, 7)
        await owner.poll_and_flush()

    asyncio.run(scenario())
    assert lines_counted(broker) == sum(LINES)


def test_a_flush_the_broker_refused_is_published_again(broker):
    """The sends of a flush fail (a broker hiccup, a leader moving): the windows it closed
    and the snapshot are not stored, and the loop goes on with the next poll. It must
    read those partials again from the last stored snapshot, not commit past them."""
    async def scenario():
        for i in range(4):
            publish_partial(broker, i, LINES[i])
        close_minute(broker, 4)  # minute T0 closes in this first batch
        worker = Worker(broker, auto_ack=False)
        await worker.assigned()
        polling = asyncio.ensure_future(worker.poll_and_flush())
        await _settle()
        assert [r[0] for _f, r in worker.producer.in_flight] == [WINDOWS, BOOKS]
        worker.producer.fail_all()
        with pytest.raises(ConnectionError):  # the worker logs it and polls again
            await polling
        worker.producer.auto_ack = True
        publish_partial(broker, 5, 0)  # the extract stage goes on: an empty partial arrives
        await worker.poll_and_flush()
        await worker.poll_and_flush()

    asyncio.run(scenario())
    assert lines_counted(broker) == sum(LINES[:4])
