"""Where a partition ends, and the first offset at or after a time in it.

End offsets: the embedded Tansu build lists the base offset of a partition's last record
batch + 1 as its end, short of every later record of that batch; the high watermark a
fetch answers with is right. So the end is the larger of the two.

Offsets for a time: Kafka answers `offsets_for_times`; Tansu answers offset 0 (with the
current time as timestamp), so the answer is checked against the records around it, and
when it is wrong or missing we binary-search the partition by record timestamps (records
of one partition are in append order; producer-set timestamps may be slightly out of
order, so this finds *a* boundary).

Moves the positions of the partitions it is asked about and nothing else (callers seek
afterwards); never commits.
"""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["end_offsets", "offset_for_time"]

# How long to wait for a fetch to confirm a partition's high watermark (Tansu's ListOffsets
# alone is not reliable). Answered at once on a healthy broker; 10 s was too short on a
# loaded 2-core machine: a partition left unconfirmed kept a stale end, and `tail --since`
# then printed nothing of it (seen once in a full test run).
HIGHWATER_WAIT_S = 30.0


async def end_offsets(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The offset the next record of each partition will get, as of now, on every broker."""
    begins = await consumer.beginning_offsets(tps)
    ends = dict(await consumer.end_offsets(tps))
    unsure = {tp for tp in tps if ends[tp] > begins[tp]}
    asked_ms = int(time.time() * 1000)
    for tp in unsure:
        consumer.seek(tp, ends[tp] - 1)  # a record is there: the fetch is answered at once
    deadline = time.monotonic() + HIGHWATER_WAIT_S
    while unsure and time.monotonic() < deadline:
        # One record is enough, the answer carries the high watermark: the rest of the
        # partition's last batch (up to 1 MiB of lines) is not decoded. A replay's end
        # test asks every round: 302 -> 141 ms a round (median) on the 199,085-line day.
        await consumer.getmany(*unsure, timeout_ms=200, max_records=1)
        for tp in list(unsure):
            # Any fetch answered since we asked carries the current high watermark.
            if (consumer.last_poll_timestamp(tp) or 0) >= asked_ms:
                ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
                unsure.discard(tp)
    return ends


async def _timestamp_at(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> int | None:
    consumer.seek(tp, offset)
    batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
    records = batch.get(tp) or []
    return records[0].timestamp if records else None


async def offset_for_time(consumer: AIOKafkaConsumer, tp: TopicPartition, ts_ms: int) -> int:
    """First offset whose record timestamp is >= ts_ms (the end offset if none)."""
    begin = (await consumer.beginning_offsets([tp]))[tp]
    end = (await end_offsets(consumer, [tp]))[tp]
    if begin >= end:
        return end
    try:
        found = (await consumer.offsets_for_times({tp: ts_ms}))[tp]
    except Exception:  # noqa: BLE001 - unsupported by the broker: search instead
        found = None
    if found is not None and found.timestamp >= 0 and begin <= found.offset < end:
        # Trust, but verify: Tansu answers offset 0 with the current time.
        at = await _timestamp_at(consumer, tp, found.offset)
        before = await _timestamp_at(consumer, tp, found.offset - 1) if found.offset > begin else None
        if at is not None and at >= ts_ms and (before is None or before < ts_ms):
            return found.offset
    lo, hi = begin, end  # invariant: records before lo are < ts; records at/after hi are >= ts
    while lo < hi:
        mid = (lo + hi) // 2
        ts = await _timestamp_at(consumer, tp, mid)
        if ts is None or ts >= ts_ms:
            hi = mid
        else:
            lo = mid + 1
    return lo
