"""When a replay is done: every stage has taken each partition it reads to its end and holds
nothing, read from the worker's /metrics as Prometheus renders it. A record delivered twice
(after a rebalance) must not make a partition look done before its last record is taken:
a count of records handled did, and a replay once ended without a one-off."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from prometheus_client import generate_latest

from schemas.records import Clock
from streams.replay.run import taken_of
from streams.stage import StageRunner


class _Topology:
    prefix = "replay-x."

    def logical(self, name: str) -> str:
        return name[len(self.prefix):] if name.startswith(self.prefix) else name


def _event(topic: str, partition: int, offset: int) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(topic=topic, partition=partition, offset=offset),
                           key=b"svc", value=b'{"at": 1.0}')


def _state(topic: str, partition: int) -> tuple[int | None, float]:
    taken, in_hand = taken_of(generate_latest().decode())
    return taken.get((topic, partition)), in_hand


def test_a_partition_is_taken_to_the_offset_after_its_last_record_and_redelivery_does_not_move_it():
    topic = "replay-x.incidents.clock"
    runner = StageRunner(None, _Topology(), "done-test", 1, None)  # type: ignore[arg-type]
    seen: list[int] = []

    async def handle(record, source):  # noqa: ANN001, ANN202
        seen.append(source.offset)
        return []

    async def run(offsets: list[int]) -> None:
        for offset in offsets:
            await runner._one(_event(topic, 3, offset), {"incidents.clock": Clock}, handle, "invalid")

    asyncio.run(run([0, 1, 2, 3]))
    assert _state(topic, 3) == (4, 0.0)
    # Offsets 1 and 2 again (a rebalance hands back what was not committed): four records
    # of this partition have been handled six times, and the partition still ends at 4.
    asyncio.run(run([1, 2]))
    assert seen == [0, 1, 2, 3, 1, 2]
    assert _state(topic, 3) == (4, 0.0)


def test_a_record_in_hand_keeps_the_replay_from_being_done():
    topic = "replay-x.ai.requests"
    runner = StageRunner(None, _Topology(), "hand-test", 1, None)  # type: ignore[arg-type]

    async def scenario() -> tuple[tuple[int | None, float], tuple[int | None, float]]:
        release = asyncio.Event()
        started = asyncio.Event()

        async def handle(record, source):  # noqa: ANN001, ANN202
            started.set()
            await release.wait()
            return []

        task = asyncio.ensure_future(runner._one(_event(topic, 0, 7), {"ai.requests": Clock}, handle, "invalid"))
        await started.wait()
        during = _state(topic, 0)
        release.set()
        await task
        return during, _state(topic, 0)

    during, after = asyncio.run(scenario())
    assert during == (8, 1.0)  # the record is taken, but still being handled
    assert after == (8, 0.0)


def test_two_stages_reading_one_partition_are_done_when_the_slower_one_is():
    metrics = "\n".join([
        '# TYPE logwarden_stage_next_offset gauge',
        'logwarden_stage_next_offset{partition="1",stage="incidents",topic="p.signals.windows"} 120.0',
        'logwarden_stage_next_offset{partition="1",stage="console",topic="p.signals.windows"} 95.0',
        'logwarden_stage_next_offset{partition="0",stage="incidents",topic="p.signals.windows"} 3.0',
        'logwarden_stage_records_in_hand 0.0',
    ])
    taken, in_hand = taken_of(metrics)
    assert taken == {("p.signals.windows", 1): 95, ("p.signals.windows", 0): 3}
    assert in_hand == 0.0
