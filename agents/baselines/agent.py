"""Thin shell of the baselines stage.

Reads the window summaries (`signals.windows`) and the check and probe results
(`checks.results`), both keyed by service, so each series' state lives in the
changelogged tables of its service's partition (`agents.baselines.book`). A deviation
is published back on `checks.results` as a result of kind `baseline`, which the
incident stage takes as a finding and which this stage ignores when it reads it back.

With `[health] enabled`, each service's judgements also fill its open health period
(`health.py`); a closed period goes to the one-partition `health.parts`, where a second
handler assembles the periodic health report (`report.py`). With a model configured
(`[ai] provider`), the report's words are asked of the AI stage, whose answer comes back
on `health.parts`; early in each period the services' values also beat event time there,
so a missing answer falls back to the built-in text after `[incidents] ai_timeout_s`.
"""

from __future__ import annotations

from prometheus_client import Counter

from agents.baselines.book import BUCKETS, SERIES, judge
from agents.baselines.health import PARTS_KEY, PARTS_TOPIC, PERIODS, HealthClock, HealthPart, beat_due, track
from agents.baselines.report import (HEALTH_BOOK, HealthBook, HealthMessage, Narrator, apply_health_answer,
                                     apply_health_clock, apply_health_part)
from schemas.effects import Publish, Store
from schemas.records import AIResult, CheckResult, WindowSummary

__all__ = ["INPUTS", "register"]

INPUTS = {"signals.windows": WindowSummary, "checks.results": CheckResult}

FINDINGS = Counter("logwarden_baseline_results", "Baseline findings opened (fail) and ended (ok)", ["status"])
REPORTS = Counter("logwarden_health_reports", "Health reports written (periods with something unusual, "
                  "or every period with [health] digest on)")
DROPPED = Counter("logwarden_baseline_series_dropped", "Values of series over max_series_per_service, not baselined")


def register(stage, cfg) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    series, buckets = stage.table(SERIES), stage.table(BUCKETS)
    periods, health = stage.table(PERIODS), cfg.health
    narrator = Narrator(ask_model=cfg.ai.provider != "local", timeout_s=cfg.incidents.ai_timeout_s,
                        redact_ips=cfg.ai.redact_ips)

    async def observe(record, source) -> list:  # noqa: ANN001
        judgement = judge(record, series, buckets, cfg.baselines)
        DROPPED.inc(judgement.dropped)
        for result in judgement.results:
            FINDINGS.labels(result.status).inc()
        effects = [*(Publish("checks.results", r.service, r) for r in judgement.results),
                   *(Store(table, key, value) for table, key, value in judgement.stores)]
        if health.enabled and judgement.seen:
            service = judgement.seen[0].point.service
            state, parts = track(periods.get(service), service, judgement.seen, health)
            effects += [*(Publish(PARTS_TOPIC, PARTS_KEY, p) for p in parts), Store(PERIODS, service, state)]
            latest = max(o.point.t for o in judgement.seen)
            if narrator.ask_model and beat_due(state, latest, health, narrator.timeout_s):
                effects.append(Publish(PARTS_TOPIC, PARTS_KEY, HealthClock(at=latest, service=service)))
        return effects

    stage.consume(INPUTS, observe, agent="baselines")
    if not health.enabled:
        return
    book_table = stage.table(HEALTH_BOOK, partitions=1)

    apply = {HealthPart: apply_health_part, AIResult: apply_health_answer, HealthClock: apply_health_clock}

    async def assemble(message: HealthMessage, source) -> list:  # noqa: ANN001
        raw = book_table.get(PARTS_KEY)
        record = message.root
        book, effects = apply[type(record)](HealthBook.model_validate(raw) if raw else None, record, health,
                                            cfg.baselines.timezone, narrator)
        REPORTS.inc(sum(1 for e in effects if isinstance(e, Publish) and e.topic == "notify.outbox"))
        return [*effects, Store(HEALTH_BOOK, PARTS_KEY, book.model_dump(mode="json"))]

    stage.consume({PARTS_TOPIC: HealthMessage}, assemble, agent="health", invalid_reason="invalid_health_part")
