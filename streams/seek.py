"""Find the first offset at or after a time in a partition.

Kafka answers `offsets_for_times`; the embedded Tansu build answers offset 0 (with the
current time as timestamp), so the answer is checked against the records around it, and
when it is wrong or missing we binary-search the partition
by record timestamps (records of one partition are in append order; producer-set
timestamps may be slightly out of order, so this finds *a* boundary, then steps back
while earlier records are still at or after the time).
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["offset_for_time"]


async def _timestamp_at(consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int) -> int | None:
    consumer.seek(tp, offset)
    batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
    records = batch.get(tp) or []
    return records[0].timestamp if records else None


async def offset_for_time(consumer: AIOKafkaConsumer, tp: TopicPartition, ts_ms: int) -> int:
    """First offset whose record timestamp is >= ts_ms (the end offset if none)."""
    begin = (await consumer.beginning_offsets([tp]))[tp]
    end = (await consumer.end_offsets([tp]))[tp]
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
