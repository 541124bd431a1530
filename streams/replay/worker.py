"""The replay's worker process: `python -m streams.replay.worker OVERRIDES_JSON [-c FILE]`.

The user's configuration with the replay's overrides (`namespace.replay_overrides`),
every stage of `REPLAY_STAGES`, the incident stage answering its AI requests as it asks
them from the live run's `ai.results` and `ai.audit`, and each ticket's live receipt
from `notify.receipts` where live had it among `incidents.events` (read once at start,
under the live topic prefix `--live-prefix`; `streams.replay.answers`), and the
replay's AI stage writing the audit of each request. Stopped by
its parent with SIGTERM once everything is consumed, or by itself once its parent is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import threading
import time

from streams.config import load_config
from streams.kafka.reader import UnknownTopic, read_topic
from streams.replay.answers import RecordedAnswers, ReplayAnswers, register

__all__ = ["CONSOLE_AGENT", "main"]

CONSOLE_AGENT = "logwarden.console-windows"


async def _recorded(broker: str, live_prefix: str | None) -> RecordedAnswers:
    """What the live run under `live_prefix` answered (None: a replay of files, nothing)."""
    answers = RecordedAnswers()
    if live_prefix is None:
        return answers
    for name, add in (("ai.results", answers.add), ("ai.audit", answers.add_audit),
                      ("notify.receipts", answers.add_receipt), ("incidents.events", answers.add_event)):
        topic = live_prefix + name
        try:
            async for _p, _o, _k, value in read_topic(broker, topic, to_end=True):
                add(value)
        except UnknownTopic:
            pass
    return answers


def _stop_with_parent(parent: int) -> None:
    """SIGTERM to itself once the `logwarden replay` that started it is gone (killed, say):
    the worker runs in a session of its own, so nothing else would stop it."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="replay-parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    from streams.app import create_app
    from streams.stage import StageRunner
    from streams.worker import execute

    p = argparse.ArgumentParser(prog="logwarden-replay-worker")
    p.add_argument("overrides")
    p.add_argument("--live-prefix", default=None, help="topic prefix of the live run whose answers to reuse")
    p.add_argument("-c", "--config")
    args = p.parse_args(argv)
    _stop_with_parent(os.getppid())
    cfg = load_config(args.config, **json.loads(args.overrides))
    answers = ReplayAnswers(cfg, asyncio.run(_recorded(cfg.broker, args.live_prefix)))
    app = create_app(cfg, stage_options={"incidents": {"answer": answers}})
    # Not in a replay: the console's six-hour rings of each service's windows, a page for
    # people (agents/console). Each window rewrote a 360-point ring into its changelog, the
    # largest share of the incident stage's time in a replay, and its records were counted
    # as taken with the incident stage's, so the end could be called before every window
    # had reached the incident reducer.
    app.agents.pop(CONSOLE_AGENT, None)
    runner = StageRunner(app, app.logwarden_topology, "ai", cfg.partitions, cfg.data_dir)
    register(runner, answers)
    return execute(app, cfg)

if __name__ == "__main__":
    raise SystemExit(main())
