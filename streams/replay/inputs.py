"""What a replay reads: a time range of the live input topics, or log files.

Topics: every record of `logs.raw`, `alerts.raw`, `checks.results` and `approvals` in
the range is copied to the same partition of the replay's topic with its key and its
timestamp (the extractor counts most lines by their broker time, so it must be the
event time). `logs.raw` carries the live ticks, so windows close where they closed
live. Files: each line keyed by the one service rule (`agents.service_name`, or
`--service`), its timestamp the time written in the line (the last one seen for a line
without one, as a trace's continuation lines), a tick at the first line's time on every
partition before it (the worker reads while the lines are sent) and one after the last
line so every window of the file closes. Both are produced in whole batches per
partition.

Reads the live topics without a consumer group and writes only under the replay's prefix.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2

from agents.extract.compiled import function
from agents.extract.config import ExtractConfig
from agents.extract.formats import _TIME, _first, parse_json_object  # the extractor's own time fields
from agents.extract.timestamps import parse_timestamp
from agents.service_name import DOCKER_PREFIX, field_service, resolve, service_of_line, text_service
from schemas.records import encode_tick
from streams.kafka import client
from streams.kafka.reader import partitions_of
from streams.kafka.seek import end_offsets, offset_for_time

__all__ = ["INPUT_TOPICS", "FileRecord", "SentBatch", "copy_range", "end_tick", "file_records", "send_file_records",
           "service_and_time"]

INPUT_TOPICS = ("logs.raw", "alerts.raw", "checks.results", "approvals")
# `service_and_time` of the `docker compose logs` lines it reads most, compiled
# (agents/extract/_scan.c); None where not built. Answers (name, time) or None for
# "Python decides"; the Python below is the reference (tests/unit/replay/test_compiled_compose.py).
_compose = function("compose_service_time")
TICK_KEY = b"__tick__"
SEND_BATCH = 5000


@dataclass(frozen=True, slots=True)
class FileRecord:
    key: bytes
    value: bytes
    at: float  # event time, also the record timestamp


@dataclass(frozen=True, slots=True)
class SentBatch:
    """Where one produced batch went: its partition, first offset and record count, and
    the earliest and latest of its record timestamps (ms). The replay's report reads the
    lines around each incident's start from the few batches whose times cover it."""
    partition: int
    offset: int
    count: int
    first_ms: int
    last_ms: int


def line_time(line: bytes, extract: ExtractConfig, reference: float) -> float | None:
    """The time a line says it was written, by the extractor's own readers; None if none."""
    if line[:1] != b"{" and b" | " in line[:80]:  # `docker compose logs`: "api-1  | <the line>"
        match = DOCKER_PREFIX.match(line[:80].decode("utf-8", "replace"))
        if match and len(match.group(1)) < 64:
            line = line[line.index(b" | ") + 3:]
    if line[:1] == b"{":
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        return _object_time(obj, extract, reference) if isinstance(obj, dict) else None
    return parse_timestamp(line[:96].decode("utf-8", "replace"), reference)


def _object_time(obj: dict[str, Any], extract: ExtractConfig, reference: float) -> float | None:
    # The time fields first (a tenth of the whole parse); the whole parse only for a
    # record without one (a shipper's wrapper around a text line with its own time).
    at = parse_timestamp(_first(obj, _TIME), reference)
    return at if at is not None else parse_json_object(obj, reference, extract.service_fields).timestamp


def service_and_time(line: bytes, extract: ExtractConfig, reference: float) -> tuple[str, float | None]:
    """`service_of_line` and `line_time` of one line, reading it once: a replay reads every
    line of a file before the pipeline can, and most lines are a JSON object or a
    `docker compose logs` line, where the two would each decode the line, match the
    prefix and parse the JSON. Any other line (or a compose line whose prefix the two
    would read differently: non-ASCII, a tab before the bar, a capitalised name) goes to
    the two functions themselves."""
    fields, names = extract.service_fields, extract.service_map
    head = line[:1]
    if head == b"{":
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            return resolve("", None, names), None
        return resolve(field_service(obj, fields), None, names), _object_time(obj, extract, reference)
    if _compose is not None:
        found = _compose(line)
        if found is not None:
            return resolve(found[0], None, names), found[1]
    bar = line.find(b" | ", 0, 80)
    if bar > 0 and line[:1].islower() and line.isascii():
        # Lower-case first letter: the service rule reads no syslog header here and
        # goes straight to the compose prefix, as `line_time` does.
        text = line.decode("ascii")
        match = DOCKER_PREFIX.match(text)
        if match and len(match.group(1)) < 64 and match.start(2) == bar + 3:
            inner = match.group(2)
            if inner[:1] != "{":
                found = text_service(inner) or match.group(1)
                return resolve(found, None, names), parse_timestamp(inner[:96], reference)
            try:
                obj = orjson.loads(inner)
            except orjson.JSONDecodeError:
                obj = None
            if not isinstance(obj, dict):
                return resolve(match.group(1), None, names), None
            found = field_service(obj, ()) or match.group(1)
            return resolve(found, None, names), _object_time(obj, extract, reference)
    return service_of_line(line, None, fields, names), line_time(line, extract, reference)


def file_records(lines: Iterable[bytes], extract: ExtractConfig, *, service: str | None = None,
                 reference: float = 0.0) -> Iterator[FileRecord]:
    """Records of the non-empty lines, in order. Lines before the first time found get it."""
    pending: list[tuple[bytes, bytes]] = []
    last: float | None = None
    for raw in lines:
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        if service:
            key, at = service.encode(), line_time(line, extract, reference or (last or 0.0))
        else:
            name, at = service_and_time(line, extract, reference or (last or 0.0))
            key = name.encode()
        if at is not None and math.isfinite(at):
            last = at
        if last is None:
            pending.append((key, line))
            continue
        for k, v in pending:
            yield FileRecord(k, v, last)
        pending.clear()
        yield FileRecord(key, line, last)
    for k, v in pending:  # no time anywhere: the reference (a file of a past day says its day)
        yield FileRecord(k, v, reference)


def end_tick(last_at: float, extract: ExtractConfig) -> float:
    """A tick time that closes the window of `last_at` and nothing after it."""
    window = extract.window_s
    return (last_at // window + 1) * window + extract.allowed_lateness_s + 1.0


class _Batches:
    """Records appended to one open batch per partition, each sent when full (aiokafka's
    `send_batch`): a replay sends hundreds of thousands of records, and one `send` each
    costs more than reading the line. Keys go to the partition the default partitioner
    (murmur2, as every producer of the project) gives them. `sent`: every batch sent and
    acknowledged, where it went (`SentBatch`)."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, partitions: int):
        self.producer, self.topic, self.partitions = producer, topic, partitions
        self.open: dict[int, Any] = {}
        self.times: dict[int, list[int]] = {}  # partition -> [earliest, latest] ms of its open batch
        self.pending: list[tuple[asyncio.Future, int, int, int, int]] = []
        self.sent: list[SentBatch] = []
        self._of_key: dict[bytes, int] = {}

    def partition_of(self, key: bytes) -> int:
        partition = self._of_key.get(key)
        if partition is None:
            partition = (murmur2(key) & 0x7FFFFFFF) % self.partitions
            if len(self._of_key) < 100_000:
                self._of_key[key] = partition
        return partition

    async def add(self, partition: int, key: bytes | None, value: bytes | None, timestamp_ms: int) -> None:
        batch = self.open.get(partition)
        if batch is None:
            batch = self.open[partition] = self.producer.create_batch()
            self.times[partition] = [timestamp_ms, timestamp_ms]
        if batch.append(key=key, value=value, timestamp=timestamp_ms) is None:  # full: send it, start another
            await self._send(partition, batch)
            batch = self.open[partition] = self.producer.create_batch()
            self.times[partition] = [timestamp_ms, timestamp_ms]
            batch.append(key=key, value=value, timestamp=timestamp_ms)
        else:
            span = self.times[partition]
            if timestamp_ms < span[0]:
                span[0] = timestamp_ms
            elif timestamp_ms > span[1]:
                span[1] = timestamp_ms

    async def _send(self, partition: int, batch: Any) -> None:
        first, last = self.times.pop(partition)
        count = batch.record_count()
        future = await self.producer.send_batch(batch, self.topic, partition=partition)
        self.pending.append((future, partition, count, first, last))

    async def flush(self) -> None:
        """Send every open batch and wait for all acknowledgements (raises if one failed)."""
        for partition, batch in sorted(self.open.items()):
            if batch.record_count():
                await self._send(partition, batch)
        self.open.clear()
        self.times.clear()
        pending, self.pending = self.pending, []
        done = await asyncio.gather(*(future for future, *_ in pending))
        self.sent += [SentBatch(partition, meta.offset, count, first, last)
                      for meta, (_f, partition, count, first, last) in zip(done, pending)]


# A quarter of a MiB a batch: the report reads the lines around each incident's start by
# whole batches (`SentBatch`); with 1 MiB ones that was 6,000 records a partition per
# incident for the 20 lines it keeps, and sending is no slower by it.
BATCH_BYTES = 256 * 1024


def _producer(broker: str) -> AIOKafkaProducer:
    return client.producer(broker, linger_ms=0, max_batch_size=BATCH_BYTES)


async def send_file_records(broker: str, topic: str, records: Iterable[FileRecord], partitions: int, extract: ExtractConfig,
                            progress: Callable[[int], None] = lambda n: None,
                            batches: list[SentBatch] | None = None) -> tuple[int, float | None, float | None]:
    """Produce the records (acknowledged), then an end tick on every partition.
    Before the first record, a tick at its time on every partition: every partition has
    a record from the start, so a worker reading while the lines are sent never takes one
    that has none yet for idle (it would close the minutes of the others without it).
    Returns (lines, first event time, last event time); `batches` gets where each batch went."""
    producer = await client.started(_producer(broker), broker)
    out = _Batches(producer, topic, partitions)
    sent, first, last = 0, None, None
    try:
        for record in records:
            at_ms = int(record.at * 1000)
            if first is None:
                for p in range(partitions):
                    await out.add(p, TICK_KEY, encode_tick(record.at), at_ms)
                await out.flush()
            await out.add(out.partition_of(record.key), record.key, record.value, at_ms)
            first = record.at if first is None else min(first, record.at)
            last = record.at if last is None else max(last, record.at)
            sent += 1
            if sent % SEND_BATCH == 0:
                progress(sent)
        if last is not None:
            at = end_tick(last, extract)
            for p in range(partitions):
                await out.add(p, TICK_KEY, encode_tick(at), int(at * 1000))
        await out.flush()
        progress(sent)
    finally:
        await client.quiet_stop(producer)
    if batches is not None:
        batches += out.sent
    return sent, first, last


async def copy_range(broker: str, source: str, target: str, since: float | None, until: float | None,
                     batches: list[SentBatch] | None = None) -> int:
    """Copy the records of `source` with timestamps in [since, until] to the same partition
    of `target`, keys and timestamps kept, in order. Returns how many; `batches` gets
    where each batch went."""
    reader = await client.started(client.consumer(broker), broker)
    producer = await client.started(_producer(broker), broker)
    out = _Batches(producer, target, 0)
    copied = 0
    try:
        parts = sorted(reader.partitions_for_topic(source) or await partitions_of(broker, source))
        tps = [TopicPartition(source, p) for p in parts]
        if not tps:
            return 0
        reader.assign(tps)
        ends = await end_offsets(reader, tps)
        for tp in tps:
            reader.seek(tp, await offset_for_time(reader, tp, int(since * 1000)) if since is not None else 0)
        until_ms = until * 1000 if until is not None else math.inf
        open_tps = {tp for tp in tps if await reader.position(tp) < ends[tp]}
        while open_tps:
            batch = await reader.getmany(*open_tps, timeout_ms=500, max_records=20_000)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= ends[tp] or rec.timestamp > until_ms:
                        open_tps.discard(tp)
                        break
                    await out.add(tp.partition, rec.key, rec.value, rec.timestamp)
                    copied += 1
                else:
                    if records and records[-1].offset + 1 >= ends[tp]:
                        open_tps.discard(tp)
        await out.flush()
    finally:
        await client.quiet_stop(producer)
        await client.quiet_stop(reader)
    if batches is not None:
        batches += out.sent
    return copied
