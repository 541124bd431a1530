"""The replay's worker process: `python -m streams.replay.worker OVERRIDES_JSON [-c FILE]`.

The user's configuration with the replay's overrides (`namespace.replay_overrides`),
every stage of `REPLAY_STAGES`, and the replay's AI stage answering from the live run's
`ai.results` (read once at start, from the topic named by `answers_topic`). Stopped by
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
from streams.replay.answers import RecordedAnswers, register

__all__ = ["CONSOLE_AGENT", "main"]

CONSOLE_AGENT = "logwarden.console-windows"


async def _recorded(broker: str, topic: str) -> RecordedAnswers:
    answers = RecordedAnswers()
    if topic:
        try:
            async for _p, _o, _k, value in read_topic(broker, topic, to_end=True):
                answers.add(value)
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
    p.add_argument("--answers-topic", default="")
    p.add_argument("-c", "--config")
    args = p.parse_args(argv)
    _stop_with_parent(os.getppid())
    cfg = load_config(args.config, **json.loads(args.overrides))
    recorded = asyncio.run(_recorded(cfg.broker, args.answers_topic))
    app = create_app(cfg)
    # Not in a replay: the console's six-hour rings of each service's windows, a page for
    # people (agents/console). Each window rewrote a 360-point ring into its changelog, the
    # largest share of the incident stage's time in a replay, and its records were counted
    # as taken with the incident stage's, so the end could be called before every window
    # had reached the incident reducer.
    app.agents.pop(CONSOLE_AGENT, None)
    runner = StageRunner(app, app.logwarden_topology, "ai", cfg.partitions, cfg.data_dir)
    register(runner, cfg, recorded)
    return execute(app, cfg)

if __name__ == "__main__":
    raise SystemExit(main())
