"""Extraction throughput per worker process, beside the raw aiokafka ceiling.

For each broker (embedded Tansu, Apache Kafka): fill `logs.raw` with N realistic mixed
lines (2 % errors, a third of them multi-line tracebacks), then, alternating, R times:
  raw:     aiokafka getmany over every partition + decode each value (orjson for JSON
           lines, UTF-8 for the rest) — the ceiling for any consumer in this process;
  extract: the production batch loop (`streams.kafka.batch.BatchLoop` with the extract
           stage's `SourceExtractor`: getmany, prefilter, parse,
           fingerprint, window, publish acknowledged partials, commit);
  before:  the same loop as the code was before the compiled parts and the parse's
           shortcuts: all Python (what runs where no C compiler built
           `agents/extract/_scan.c`), every warning and every frame parsed whole, so
           both are measured in the same run.
Reports medians, the ratios to raw and the process's peak RSS.

    python -m ops.bench.extract [--lines 1000000] [--runs 3] [--brokers tansu,kafka]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
import uuid

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents import redact
from agents.extract import findings, prefilter
from agents.extract.compiled import pure_python
from agents.extract.batch import DEAD_LETTERS, PARTIALS, SOURCE, URGENT, SourceExtractor, is_checkpoint
from agents.extract.partition import PartitionExtractor
from ops.bench.loadgen import mixed_lines
from streams.brokers import start_broker
from streams.config import load_config
from streams.kafka import client, create_topics
from streams.kafka.batch import BatchLoop, BatchSpec, flush_producer

PARTITIONS = 4


async def fill(bootstrap: str, n: int) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=50, max_batch_size=1 << 20)
    await producer.start()
    sent, pending = 0, []
    try:
        for key, line in mixed_lines(n):
            pending.append(await producer.send("logs.raw", line, key=key))
            sent += 1
            if len(pending) >= 20000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def raw_read(bootstrap: str, n: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 << 20, fetch_max_bytes=32 << 20)
    await consumer.start()
    tps = [TopicPartition("logs.raw", p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    seen = 0
    t0 = time.perf_counter()
    try:
        while seen < n:
            batch = await consumer.getmany(timeout_ms=500, max_records=50_000)
            for records in batch.values():
                for rec in records:
                    v = rec.value
                    if v[:1] == b"{":
                        orjson.loads(v)
                    else:
                        v.decode()
            seen += sum(len(r) for r in batch.values())
        return time.perf_counter() - t0
    finally:
        await consumer.stop()


async def extract_run(cfg, n: int) -> float:
    """The production batch loop of the extract stage, over every partition from the start
    (with nothing remembered from the run before: redaction's answers, templates and
    types start empty)."""
    redact.forget()
    findings.forget()
    consumer = client.consumer(cfg.broker, group=f"bench-{uuid.uuid4().hex[:8]}",
                               max_partition_fetch_bytes=8 * 1024 * 1024)
    producer = flush_producer(cfg.broker)
    await consumer.start()
    await producer.start()
    tps = [TopicPartition(SOURCE, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    spec = BatchSpec(name="bench", source=SOURCE, checkpoint_topic=PARTIALS, is_checkpoint=is_checkpoint,
                     make=lambda p, checkpoint: SourceExtractor(p, cfg.extract, PARTITIONS, checkpoint))
    loop = BatchLoop(spec, cfg.broker, consumer, producer)
    for p in range(PARTITIONS):
        loop.assign(p, None)
    # The topics a flush writes to, known to the producer before the clock starts, as a
    # running worker knows them (the first send of a new producer waited ~15 ms for them).
    for topic in (PARTIALS, URGENT, DEAD_LETTERS):
        await producer.partitions_for(topic)
    t0 = time.perf_counter()
    try:
        while loop.lines_total < n:
            await loop.poll_once(timeout_ms=500)
        await loop.flush(commit=True)
        return time.perf_counter() - t0
    finally:
        await consumer.stop()
        await producer.stop()


async def bench_broker(kind: str, n_lines: int, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(kind, tmp, timeout=90)
        try:
            cfg = load_config(environ={"LOGWARDEN_BROKER": broker.bootstrap, "LOGWARDEN_PARTITIONS": str(PARTITIONS)})
            await create_topics(broker.bootstrap, PARTITIONS)
            t0 = time.perf_counter()
            n = await fill(broker.bootstrap, n_lines)
            fill_s = time.perf_counter() - t0
            raw, ext, pure = [], [], []
            for _ in range(runs):
                raw.append(n / await raw_read(broker.bootstrap, n))
                ext.append(n / await extract_run(cfg, n))
                PartitionExtractor.fast_warnings = PartitionExtractor.fast_frames = False
                try:
                    with pure_python():
                        pure.append(n / await extract_run(cfg, n))
                finally:
                    PartitionExtractor.fast_warnings = PartitionExtractor.fast_frames = True
            return {"broker": kind, "lines": n, "fill_lps": n / fill_s,
                    "raw_lps": statistics.median(raw), "extract_lps": statistics.median(ext),
                    "pure_lps": statistics.median(pure),
                    "raw_all": raw, "extract_all": ext, "pure_all": pure}
        finally:
            broker.stop()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--brokers", default="tansu,kafka")
    args = ap.parse_args()
    results = [asyncio.run(bench_broker(k, args.lines, args.runs)) for k in args.brokers.split(",")]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nextraction throughput, one process, {PARTITIONS} partitions, 2% errors (medians of {args.runs})")
    print(f"compiled parts: {'yes (agents/extract/_scan.c)' if prefilter.COMPILED else 'no, not built: Python'}")
    print(f"{'broker':8} {'lines':>9} {'raw read+decode/s':>18} {'extract/s':>11} {'ratio':>6}"
          f" {'before/s':>10} {'ratio':>6}")
    for r in results:
        pure = f" {r['pure_lps']:>10,.0f} {r['pure_lps'] / r['raw_lps']:>6.2f}"
        print(f"{r['broker']:8} {r['lines']:>9,} {r['raw_lps']:>18,.0f} {r['extract_lps']:>11,.0f} "
              f"{r['extract_lps'] / r['raw_lps']:>6.2f}{pure}")
        print(f"         runs raw {[round(x) for x in r['raw_all']]} extract {[round(x) for x in r['extract_all']]}"
              f" before {[round(x) for x in r['pure_all']]}")
    print(f"peak RSS of this process (benchmark + both consumers): {rss_mb:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
