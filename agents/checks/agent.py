"""Thin shell of the checks stage: host checks and probes on a timer, on every worker.

Each worker checks the machine it runs on (every `checks.interval_s`) and runs the
configured probes (each on its own `interval_s`), and publishes the results on
`checks.results` keyed by `checks.service`. Hosts without a worker run the same
`CheckRunner` with `logwarden checks run`.
"""

from __future__ import annotations

import time

from agents.checks.runner import CheckRunner
from schemas.effects import Publish

__all__ = ["register"]

TIMER_S = 1.0


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    runner = CheckRunner(cfg.checks)

    async def round_() -> list[Publish]:
        return [Publish("checks.results", r.service, r) for r in await runner.due(time.time())]

    stage.every(min(TIMER_S, cfg.checks.interval_s), round_, name="checks")
    stage.on_stop(runner.close)
