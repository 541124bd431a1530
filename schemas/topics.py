"""Every topic Logwarden reads or writes, declared once.

Keyed topics share one partition count (configuration `partitions`) and one
partitioner (the Kafka default murmur2 on the key bytes), so a service's logs, window
summaries, alerts, checks and incident state all live on the same partition number and
every table lookup is local. `streams.kafka.admin.create_topics` creates these idempotently.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import records as r

__all__ = ["TOPICS", "TopicSpec", "by_name"]

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str  # what the key is
    record: type[r.Record] | None  # None: raw bytes as shipped
    doc: str
    public: bool = False  # public contract: JSON Schema published under schemas/json/
    keyed: bool = True  # co-partitioned by service
    partitions: int | None = None  # None: the configured `partitions`
    retention_ms: int | None = 7 * DAY_MS
    compacted: bool = False

    def configs(self) -> dict[str, str]:
        if self.compacted:
            return {"cleanup.policy": "compact"}
        if self.retention_ms is None:
            return {}
        return {"retention.ms": str(self.retention_ms)}


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("logs.raw", "service name", None,
              "Log lines as shippers send them (JSON or text), plus Tick records.",
              retention_ms=3 * DAY_MS),
    TopicSpec("signals.partials", "service partition (explicit)", r.PartialAggregate,
              "Internal: per-partition partial aggregates from the batch extraction stage."),
    TopicSpec("signals.books", "book partition (explicit)", r.BookSnapshot,
              "Internal: window book snapshots, the checkpoint of the window stage.", compacted=True,
              retention_ms=None),
    TopicSpec("signals.windows", "service name", r.WindowSummary,
              "One summary per service per 60-second event-time window.", public=True),
    TopicSpec("signals.urgent", "service name", r.FatalSignal,
              "Internal: a fatal line's finding before its window closes, so the incident opens at once.",
              retention_ms=DAY_MS),
    TopicSpec("alerts.raw", "service name", r.Alert,
              "Alerts from webhooks, normalised by the gateway drivers.", public=True),
    TopicSpec("checks.results", "service name", r.CheckResult,
              "Host check results."),
    TopicSpec("checks.requests", "service name", r.ProbeRequest,
              "Curated probes asked for by name during an investigation, for the checks stage to run once.",
              retention_ms=DAY_MS),
    TopicSpec("incidents.clock", "partition (explicit)", r.Clock,
              "Internal: the clock for the incident reducer, a tick on every partition.",
              retention_ms=DAY_MS),
    TopicSpec("incidents.events", "service name", r.IncidentEvent,
              "Public contract: every incident lifecycle event.", public=True,
              retention_ms=30 * DAY_MS),
    TopicSpec("incidents.digest", "digest", None,
              "Internal: per-service hourly digest parts, met in one partition.",
              keyed=False, partitions=1),
    TopicSpec("health.parts", "health", None,
              "Internal: per-service health period summaries from the baselines stage, met in one partition, "
              "with event-time beats and the AI stage's answers to the health report requests.",
              keyed=False, partitions=1),
    TopicSpec("ai.requests", "service name", r.AIRequest, "Work for the AI agent."),
    TopicSpec("ai.results", "service name", r.AIResult,
              "AI answers, consumed by the incident agent.", public=True),
    TopicSpec("ai.audit", "request id", r.AIAudit,
              "One audit record per AI call (provider, tokens, latency, fallback), and one per "
              "request the incident agent stopped waiting for (outcome `expired`).",
              public=True, keyed=False),
    TopicSpec("notify.outbox", "service name", r.OutboxMessage,
              "Deliveries to make; `key` is the idempotency key.", public=True),
    TopicSpec("notify.receipts", "service name", r.Receipt,
              "Delivery results, consumed by the incident agent.", public=True),
    TopicSpec("approvals", "service name", r.Approval,
              "Fix approval requests, people's decisions and the executor's reports.", public=True,
              retention_ms=30 * DAY_MS),
    TopicSpec("fixes.orders", "service name", r.FixOrder,
              "Approved runbooks for the executor stage to run, each approval id once.",
              retention_ms=30 * DAY_MS),
    TopicSpec("incidents.actions", "service name", r.IncidentAction,
              "People's actions on incidents: acknowledge, note, resolve, close.", public=True,
              retention_ms=30 * DAY_MS),
    TopicSpec("dead.letter", "source topic", r.DeadLetter,
              "What could not be processed, with the reason.", public=True,
              keyed=False, retention_ms=14 * DAY_MS),
)


def by_name(name: str) -> TopicSpec:
    for spec in TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(name)
