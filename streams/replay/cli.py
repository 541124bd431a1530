"""`logwarden replay` and `logwarden backtest`: arguments in, report out.

Times are read by the same function as `tail --since/--until`. A backtest replays the
same input twice, each in a namespace of its own, and prints only the differences.
"""

from __future__ import annotations

import argparse
import json
import sys

from streams.config import Config, load_config
from streams.reading import parse_time
from streams.replay.backtest import compare, render_comparison
from streams.replay.report import render_markdown
from streams.replay.run import run_replay

__all__ = ["backtest", "replay"]


def _range(args: argparse.Namespace) -> tuple[float | None, float | None]:
    return (parse_time(args.since) if args.since else None, parse_time(args.until) if args.until else None)


def replay(args: argparse.Namespace, cfg: Config, broker: str) -> int:
    since, until = _range(args)
    report, directory = run_replay(cfg, broker, files=args.files, service=args.service, since=since, until=until,
                                   config_path=args.config, notify=args.notify, keep=args.keep)
    print(json.dumps(report, indent=2, sort_keys=True) if args.json else render_markdown(report))
    print(f"logwarden: report in {directory}/report.md and report.json", file=sys.stderr)
    return 0


def backtest(args: argparse.Namespace, cfg: Config, broker: str) -> int:
    since, until = _range(args)
    candidate = load_config(args.candidate).model_copy(update={"topic_prefix": cfg.topic_prefix})
    reports = []
    for label, (config, path) in (("current", (cfg, args.config)), ("candidate", (candidate, args.candidate))):
        report, _ = run_replay(config, broker, files=args.files, service=args.service, since=since, until=until,
                               config_path=path, label=label, keep=args.keep)
        reports.append(report)
    diff = compare(*reports)
    print(json.dumps(diff, indent=2, sort_keys=True) if args.json else render_comparison(diff), end="")
    return 0
