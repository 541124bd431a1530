"""`logwarden replay` and `logwarden backtest`: the whole pipeline over past input.

A replay runs every stage but the ticks on topics of its own (a topic prefix, its own
consumer groups and changelogs: `namespace`), fed with a copy of a time range of the
live input topics or with log files (`inputs`), in event time only and as fast as the
machine allows (`run`); AI answers recorded on the live `ai.results` are reused by
request id (`answers`); notifications go to a file, not to people, unless asked. What
it decided is folded into a report (`report`); a backtest compares the reports of two
configurations over the same input (`backtest`).

Never writes to a topic, group or channel outside its namespace.
"""

from __future__ import annotations

from streams.replay.backtest import compare, render_comparison
from streams.replay.namespace import Namespace, replay_overrides
from streams.replay.report import build_report, render_markdown

__all__ = ["Namespace", "build_report", "compare", "render_comparison", "render_markdown", "replay_overrides"]
