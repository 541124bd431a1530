"""Thin shell of the checks stage: host checks and probes on a timer, on every worker.

Each worker checks the machine it runs on (every `checks.interval_s`) and runs the
configured probes (each on its own `interval_s`), and publishes the results on
`checks.results` keyed by `checks.service`. Hosts without a worker run the same
`CheckRunner` with `logwarden checks run`.

It also runs, once per incident, a configured probe the AI asked for by name during an
investigation (`checks.requests`, `asks.py`): on the worker that holds the asking
service's partition, so an exec probe runs on that worker's host.
"""

from __future__ import annotations

import time

from agents.checks.asks import ASKS_TABLE, deliveries, first_ask
from agents.checks.runner import CheckRunner
from schemas.effects import Publish, Store
from schemas.records import ProbeRequest

__all__ = ["register"]

TIMER_S = 1.0


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    runner = CheckRunner(cfg.checks)

    async def round_() -> list[Publish]:
        return [Publish("checks.results", r.service, r) for r in await runner.due(time.time())]

    stage.every(min(TIMER_S, cfg.checks.interval_s), round_, name="checks")
    asks = stage.table(ASKS_TABLE)

    async def run_asked(request: ProbeRequest, source) -> list:  # noqa: ANN001
        done = first_ask(asks.get(request.service), request)
        if done is None:
            return []
        result = await runner.asked(request, time.time())
        # The ask is remembered after the result is published: a crash in between runs it again rather than never.
        return [*(Publish("checks.results", r.service, r) for r in deliveries(request, result)),
                Store(ASKS_TABLE, request.service, done)]

    stage.consume({"checks.requests": ProbeRequest}, run_asked, agent="checks-asked", invalid_reason="invalid_request")
    stage.on_stop(runner.close)
