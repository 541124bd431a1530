"""Extraction before/after a change, interleaved in one run on one filled broker.

    git worktree add /tmp/before <commit>
    python -m ops.bench.extract_ab --before /tmp/before [--lines 300000] [--runs 5] [--brokers tansu,kafka]

For each broker: fill `logs.raw` once (the same lines as `ops.bench.extract`), then R
rounds of: the raw aiokafka read+decode ceiling, the extraction of the older checkout,
the extraction of this one (each in a child process with its own tree on PYTHONPATH,
timed inside, against the same broker and lines). Interleaving puts the same machine
noise on both sides; the medians, their ratios to the ceiling and after/before are
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from ops.bench.extract import PARTITIONS, fill, raw_read
from streams.brokers import start_broker
from streams.kafka.admin import create_topics

HERE = Path(__file__).resolve().parents[2]
_CHILD = """
import asyncio, sys
from ops.bench.extract import extract_run
from streams.config import load_config
cfg = load_config(environ={"LOGWARDEN_BROKER": sys.argv[1], "LOGWARDEN_PARTITIONS": sys.argv[3]})
print(int(sys.argv[2]) / asyncio.run(extract_run(cfg, int(sys.argv[2]))))
"""


def _extract(tree: Path, bootstrap: str, lines: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", _CHILD, bootstrap, str(lines), str(PARTITIONS)], cwd=tree,
                         env=env, capture_output=True, text=True, timeout=900, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True, type=Path, help="a checkout of the older commit")
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--brokers", default="tansu,kafka")
    args = ap.parse_args()
    median = statistics.median
    for kind in args.brokers.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            broker = start_broker(kind, tmp, timeout=90)
            try:
                asyncio.run(create_topics(broker.bootstrap, PARTITIONS))
                asyncio.run(fill(broker.bootstrap, args.lines))
                raw, before, after = [], [], []
                for _ in range(args.runs):
                    raw.append(args.lines / asyncio.run(raw_read(broker.bootstrap, args.lines)))
                    before.append(_extract(args.before, broker.bootstrap, args.lines))
                    after.append(_extract(HERE, broker.bootstrap, args.lines))
            finally:
                broker.stop()
        r, b, a = median(raw), median(before), median(after)
        print(f"{kind}: raw {r:,.0f}/s  before {b:,.0f}/s ({b / r:.2f})  after {a:,.0f}/s ({a / r:.2f})"
              f"  after/before {a / b:.2f}")
        print(f"   runs raw {[round(x) for x in raw]} before {[round(x) for x in before]} "
              f"after {[round(x) for x in after]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
