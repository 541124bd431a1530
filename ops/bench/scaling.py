"""Extraction with one worker process and with two, on the same filled Apache Kafka topic.

Fills `logs.raw` (8 partitions) with N realistic lines (`loadgen.mixed_lines`), then,
alternating, R times each: one process extracting every partition, and two processes
extracting half of the partitions each (even / odd, what a consumer group of two gives
with the range assignor on 8 partitions). Each process runs the production batch loop
of the extract stage (`ops.bench.extract.extract_run`'s loop: getmany, prefilter, parse,
fingerprint, window, publish acknowledged partials, commit), connects and seeks first,
then waits for the start signal, so start-up is not timed. Throughput = lines / (last
process done - start). The broker's CPU time during each run is read from /proc, and
the machine's load average is printed before and after: on a 2-core machine the broker
and two workers compete for the same cores.

    python -m ops.bench.scaling [--lines 600000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from aiokafka import TopicPartition

from agents.extract.batch import PARTIALS, SOURCE, SourceExtractor, is_checkpoint
from ops.bench.extract import fill
from streams.brokers import start_broker
from streams.config import load_config
from streams.kafka import client, create_topics
from streams.kafka.batch import BatchLoop, BatchSpec, flush_producer

PARTITIONS = 8


async def _child(bootstrap: str, partitions: list[int]) -> None:
    cfg = load_config(environ={"LOGWARDEN_BROKER": bootstrap, "LOGWARDEN_PARTITIONS": str(PARTITIONS)})
    consumer = client.consumer(bootstrap, group=f"scale-{uuid.uuid4().hex[:8]}",
                               max_partition_fetch_bytes=8 * 1024 * 1024)
    producer = flush_producer(bootstrap)
    await consumer.start()
    await producer.start()
    tps = [TopicPartition(SOURCE, p) for p in partitions]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    expected = sum((await consumer.end_offsets(tps)).values())
    spec = BatchSpec(name="bench", source=SOURCE, checkpoint_topic=PARTIALS, is_checkpoint=is_checkpoint,
                     make=lambda p, checkpoint: SourceExtractor(p, cfg.extract, PARTITIONS, checkpoint))
    loop = BatchLoop(spec, bootstrap, consumer, producer)
    for p in partitions:
        loop.assign(p, None)
    print("ready", flush=True)
    sys.stdin.readline()  # the start signal
    try:
        while loop.lines_total < expected:
            await loop.poll_once(timeout_ms=500)
        await loop.flush(commit=True)
        print(json.dumps({"done": time.time(), "lines": loop.lines_total}), flush=True)
    finally:
        await consumer.stop()
        await producer.stop()


def _broker_cpu(pid: int) -> float:
    """User + system CPU seconds of the broker process and its children so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = sum(int(x) for x in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def _run(bootstrap: str, shares: list[list[int]], broker_pid: int) -> tuple[float, int, float]:
    procs = [subprocess.Popen([sys.executable, "-m", "ops.bench.scaling", "--child", bootstrap,
                               ",".join(map(str, share))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for share in shares]
    try:
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("a worker did not get ready")
        cpu0 = _broker_cpu(broker_pid)
        start = time.time()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.stdout.readline()) for p in procs]
        cpu = _broker_cpu(broker_pid) - cpu0
        lines = sum(r["lines"] for r in results)
        return lines / (max(r["done"] for r in results) - start), lines, cpu
    finally:
        for p in procs:
            p.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        asyncio.run(_child(args[1], [int(x) for x in args[2].split(",")]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=600_000)
    ap.add_argument("--runs", type=int, default=3)
    opts = ap.parse_args(args)
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker("kafka", tmp, timeout=120)
        try:
            asyncio.run(create_topics(broker.bootstrap, PARTITIONS))
            n = asyncio.run(fill(broker.bootstrap, opts.lines))
            pid = broker.proc.pid
            one, two = [], []
            for _ in range(opts.runs):
                one.append(_run(broker.bootstrap, [list(range(PARTITIONS))], pid))
                two.append(_run(broker.bootstrap, [list(range(0, PARTITIONS, 2)), list(range(1, PARTITIONS, 2))], pid))
        finally:
            broker.stop()
    print(f"load average after: {os.getloadavg()}")
    print(f"\n{n:,} lines on Kafka, {PARTITIONS} partitions, medians of {opts.runs} runs (alternating)")
    print("| workers | lines/s (median) | runs | broker CPU s per run |")
    print("|---|---|---|---|")
    for label, rows in (("1", one), ("2", two)):
        print(f"| {label} | {statistics.median(r[0] for r in rows):,.0f} | "
              f"{', '.join(f'{r[0]:,.0f}' for r in rows)} | {', '.join(f'{r[2]:.1f}' for r in rows)} |")
    for rows in (one, two):
        assert all(r[1] == n for r in rows), "a run did not count every line"
    print(f"\ntwo / one: {statistics.median(r[0] for r in two) / statistics.median(r[0] for r in one):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
