"""Whole-replay throughput of `logwarden replay FILE`, beside the extraction benchmark on
the same lines in the same run (issue #17: target, replay within 2x of extraction).

One broker (an embedded Tansu started here, or `--broker HOST:PORT`), one generated past
day (`ops.bench.replay_day`: five services, `docker compose logs`, planted incidents),
then, alternating, R times:
  extract: the same lines in the default `logs.raw` (filled once, keyed and timed as a
           replay sends them), read by the production extraction batch loop
           (`ops.bench.extract.extract_run`): the extraction benchmark on these lines;
  replay:  `streams.replay.run.run_replay` over the file, end to end: start the replay
           worker (every stage but the ticks) while the lines are sent to the replay's
           namespace, wait until everything is consumed (by offsets), collect the
           report, delete the namespace. Each run checks that the report holds exactly
           the planted incidents.
Reports medians, the ratio extract/replay (the replay timed until everything is consumed,
as `report["seconds"]`, and the whole command: worker stopped, report collected,
namespace deleted), the replay's phases, and the load average before and after (the
machine is shared: say what else ran).

    python -m ops.bench.replay [--lines 200000] [--runs 3] [--broker HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import tempfile
import time

from ops.bench.extract import extract_run
from ops.bench.replay_day import PLAN, write_day
from streams.brokers import start_broker
from streams.config import load_config
from streams.kafka import create_topics
from streams.replay.inputs import file_records, send_file_records
from streams.replay.run import run_replay

__all__ = ["main"]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    with open("/proc/loadavg") as f:
        running = f.read().split()[3]
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}, runnable/total tasks {running}, {os.cpu_count()} CPUs"


def _fill(cfg, path: str) -> int:  # noqa: ANN001
    async def run() -> int:
        await create_topics(cfg.broker, cfg.partitions)
        with open(path, "rb") as lines:
            sent, _first, _last = await send_file_records(cfg.broker, "logs.raw", file_records(lines, cfg.extract),
                                                          cfg.partitions, cfg.extract)
        return sent

    return asyncio.run(run())


def bench(bootstrap: str, lines: int, runs: int, data_dir: str) -> dict:
    cfg = load_config(environ={"LOGWARDEN_BROKER": bootstrap, "LOGWARDEN_DATA_DIR": data_dir})
    path = os.path.join(data_dir, "compose-2026-11-23.log")
    n = write_day(path, lines)
    _fill(cfg, path)
    extract, replay, whole, phases = [], [], [], []
    want = sorted((p.service, p.window_start) for p in PLAN)
    for _ in range(runs):
        extract.append(n / asyncio.run(extract_run(cfg, n)))
        t0 = time.perf_counter()
        report, _dir = run_replay(cfg, bootstrap, files=[path], err=io.StringIO())
        total = time.perf_counter() - t0
        got = sorted((i["service"], i["window_start"]) for i in report["incidents"])
        if got != want:
            raise SystemExit(f"replay found {got}, planted {want}")
        replay.append(n / report["seconds"])
        whole.append(n / total)
        phases.append((report["phases_s"]["input"], report["seconds"], total))
    return {"lines": n, "extract": extract, "replay": replay, "whole": whole, "phases": phases}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--broker", help="an existing broker (default: start an embedded Tansu here)")
    args = ap.parse_args()
    before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        broker = None if args.broker else start_broker("tansu", os.path.join(tmp, "broker"), timeout=90)
        try:
            r = bench(args.broker or broker.bootstrap, args.lines, args.runs, tmp)
        finally:
            if broker is not None:
                broker.stop()
    after = _load()
    ext, rep, cmd = (statistics.median(r[k]) for k in ("extract", "replay", "whole"))
    print(f"\nreplay of a generated day ({r['lines']:,} lines, {len(PLAN)} planted incidents, all found in every run), "
          f"medians of {args.runs}")
    print(f"{'extraction lines/s':>20} {'whole replay lines/s':>21} {'extract/replay':>15} "
          f"{'whole command lines/s':>22} {'extract/command':>16}")
    print(f"{ext:>20,.0f} {rep:>21,.0f} {ext / rep:>15.1f} {cmd:>22,.0f} {ext / cmd:>16.1f}")
    print(f"runs: extract {[round(x) for x in r['extract']]}, replay {[round(x) for x in r['replay']]}, "
          f"command {[round(x) for x in r['whole']]}")
    print("replay seconds, input sent / whole replay until settled (+ report collection): "
          + ", ".join(f"{i:.1f} / {s:.1f} (+{t - s:.1f})" for i, s, t in r["phases"]))
    print(f"before: {before}\nafter:  {after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
