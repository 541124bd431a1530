"""Thin shell of the incident stage.

One handler reads every input of the state machine (windows, fatal lines sent ahead of
their window, alerts, checks, AI results,
receipts, approvals, people's actions, and clock ticks for every state of their partition:
`clock.py`), all keyed by service and co-partitioned, folds each into the
service's changelogged `ServiceState` with the pure reducer (`fold.py`), and returns the
effects (published with acknowledgement, reports written) followed by the writes of the
parts of the state that changed (`layout.py`). A crash in
between replays the event: the reducer's deterministic ids make downstream effects
idempotent, and the parts are written copy-on-write with the core last, so a kill in
the middle of the writes leaves the state as it was before them or after, never between.

A second handler on the single-partition `incidents.digest` topic assembles the hourly
all-clear digest across services. Read endpoints live in `web.py`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from agents.console.web import register_console
from agents.incidents.clock import STATES_TABLE
from agents.incidents.digest import DigestBook, DigestPart, apply_digest_part
from agents.incidents.fold import Answer, StateCache, fold_clock, fold_record
from agents.incidents.layout import read_states
from agents.incidents.views import incident_metrics
from agents.incidents.web import register_views
from schemas.effects import Store
from schemas.records import (AIResult, Alert, Approval, CheckResult, Clock, FatalSignal, IncidentAction, Receipt,
                             WindowSummary)

__all__ = ["INPUTS", "register"]

INPUTS = {
    "signals.windows": WindowSummary,
    "signals.urgent": FatalSignal,
    "alerts.raw": Alert,
    "checks.results": CheckResult,
    "ai.results": AIResult,
    "notify.receipts": Receipt,
    "approvals": Approval,
    "incidents.actions": IncidentAction,
    "incidents.clock": Clock,
}

OPEN = Gauge("logwarden_incidents_open", "Open incidents (this worker's partitions)")
EVENTS = Counter("logwarden_incident_events", "incidents.events published, by type", ["type"])
TIME_TO_RESOLVE = Histogram("logwarden_incident_time_to_resolve_seconds", "Event time from open to resolved",
                            buckets=(60, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600))


def _observe(effects) -> None:  # noqa: ANN001
    for effect in effects:
        record = getattr(effect, "record", None)
        if getattr(effect, "topic", "") == "incidents.events":
            EVENTS.labels(record.type).inc()
            if record.type == "resolved" and "duration_s" in record.data:
                TIME_TO_RESOLVE.observe(max(0.0, float(record.data["duration_s"])))


def register(stage, cfg, answer: Answer | None = None) -> None:  # noqa: ANN001 - a streams.stage.StageRunner
    """`answer`: a replay's answers to AI requests and its live ticket receipts, folded in
    where live had them (`fold.fold_record`, `streams.replay.answers`)."""
    icfg = cfg.incidents
    states = stage.table(STATES_TABLE)
    stage.table("digest-book", partitions=1)
    open_by_service: dict[str, int] = {}
    # Each service's state as this worker last folded it: read back from the table only
    # when the table no longer holds what that fold wrote (`fold.StateCache`).
    cache = StateCache()

    async def fold(record, source) -> list:  # noqa: ANN001
        if isinstance(record, Clock):  # time passes for every state of this partition
            effects = fold_clock(states, source.partition, record, icfg)
            _observe(effects)
            return effects
        service = getattr(record, "service", "") or source.key_text
        cache.rebalanced(stage.app.rebalancing_count)
        state, out = fold_record(states, record, source.partition, icfg, service=service, cache=cache,
                                 answer=answer)
        _observe(out)
        open_by_service[service] = int(incident_metrics(state)["incidents_open"])
        OPEN.set(sum(open_by_service.values()))
        return out

    async def digest(part: DigestPart, source) -> list:  # noqa: ANN001
        raw = stage.tables["digest-book"].get("digest")
        book, effects = apply_digest_part(DigestBook.model_validate(raw) if raw else None, part, icfg, copy=False)
        return [*effects, Store("digest-book", "digest", book.model_dump(mode="json"))]

    stage.consume(INPUTS, fold, agent="incidents")
    stage.consume({"incidents.digest": DigestPart}, digest, agent="digest", invalid_reason="invalid_digest_part")
    register_views(stage, states)
    register_console(stage, states, cfg, read_states=lambda: read_states(states))  # GET /console (agents/console)
