"""Thin shell of the baselines stage.

Reads the window summaries (`signals.windows`) and the check and probe results
(`checks.results`), both keyed by service, so each series' state lives in the
changelogged tables of its service's partition (`agents.baselines.book`). A deviation
is published back on `checks.results` as a result of kind `baseline`, which the
incident stage takes as a finding and which this stage ignores when it reads it back.
"""

from __future__ import annotations

from prometheus_client import Counter

from agents.baselines.book import BUCKETS, SERIES, judge
from schemas.effects import Publish, Store
from schemas.records import CheckResult, WindowSummary

__all__ = ["INPUTS", "register"]

INPUTS = {"signals.windows": WindowSummary, "checks.results": CheckResult}

FINDINGS = Counter("logwarden_baseline_results", "Baseline findings opened (fail) and ended (ok)", ["status"])
DROPPED = Counter("logwarden_baseline_series_dropped", "Values of series over max_series_per_service, not baselined")


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    series, buckets = stage.table(SERIES), stage.table(BUCKETS)

    async def observe(record, source) -> list:  # noqa: ANN001
        judgement = judge(record, series, buckets, cfg.baselines)
        DROPPED.inc(judgement.dropped)
        for result in judgement.results:
            FINDINGS.labels(result.status).inc()
        return [*(Publish("checks.results", r.service, r) for r in judgement.results),
                *(Store(table, key, value) for table, key, value in judgement.stores)]

    stage.consume(INPUTS, observe, agent="baselines")
