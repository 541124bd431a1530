"""Records carried on every Logwarden topic.

These are the wire contract between stages. They are plain pydantic models, not
`faust.Record`s, so that the pure modules of every agent can build and check them
without importing Faust (and because decoding a pydantic model from JSON is about a
third of the cost of decoding a `faust.Record`). Topics carry them as JSON bytes.

Rules for this module:
- every record has `schema_version` and `trace_id`;
- consumers are tolerant: unknown fields are ignored, so producers may add fields
  without breaking anyone (bump `schema_version` only for incompatible changes);
- nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AIAudit",
    "AIRequest",
    "AIResult",
    "Alert",
    "Approval",
    "CheckResult",
    "Clock",
    "DeadLetter",
    "FatalSignal",
    "Finding",
    "FixOrder",
    "IncidentAction",
    "IncidentEvent",
    "OutboxMessage",
    "PartialAggregate",
    "ProbeRequest",
    "Receipt",
    "RouteCount",
    "Record",
    "Tick",
    "WindowSummary",
    "decode",
    "encode",
    "encode_tick",
]

Severity = Literal["P1", "P2", "P3", "P4"]

# Extraction names a message without exception class or HTTP status by its template
# id: "T" + 10 hex digits. Stable, but not something a person should have to read.
TEMPLATE_ID = re.compile(r"T[0-9a-f]{10}")
WILDCARD_TOKEN = "<*>"  # what masking puts in place of a value (agents.extract.templates.WILDCARD)


class Record(BaseModel):
    """Base of every topic record."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_version: int = 1
    trace_id: str = ""


class Tick(Record):
    """Clock record written to every partition of a keyed topic (`logs.raw`).

    It puts wall-clock time into the log, so a partition's watermark moves even when
    no line arrives, and closing windows stays a pure function of the log.
    """

    tick: float  # epoch seconds


class Clock(Record):
    """Time passing, for the incident reducer: a tick on every partition of `incidents.clock`.

    Written by the ticks stage with the same time as the `logs.raw` ticks, so a pending AI
    request or a due update is decided when its time comes, not when the service's next
    window arrives. The reducer decides on `at` (event time), never on the wall clock;
    the stage shell fills `service` for each service state of the tick's partition.
    """

    at: float  # epoch seconds
    service: str = ""


class Finding(BaseModel):
    """One grouped error signal: what went wrong, where, how often."""

    model_config = ConfigDict(extra="ignore")

    fingerprint: str  # "fp1:..." for logs, "al1:..." for alerts, "ck1:..." for checks
    service: str
    kind: Literal["log", "alert", "check"] = "log"
    endpoint: str = ""  # "GET /users/{id}" or "" when not an HTTP error
    error_type: str = ""  # exception class, "HTTP 503", or template id
    template: str = ""  # message with volatile tokens masked (for machines)
    # What people read: one occurrence, redacted ("POST /v1/orders/4548 failed: could not
    # create order", "psycopg2.OperationalError: could not connect to server"); "" before v2 of extraction.
    title: str = ""
    level: str = "error"  # error | critical | fatal | warning
    count: int = 1
    first_seen: float = 0.0
    last_seen: float = 0.0
    samples: list[str] = Field(default_factory=list)  # redacted, at most 3
    status: Literal["firing", "resolved"] = "firing"  # alerts/checks only
    source: str = ""  # alert/check source, e.g. "alertmanager"

    @property
    def label(self) -> str:
        """What people read: the exception class, HTTP status or readable type; for a
        record from before readable types (a template id), its title. Never a template
        id, a fingerprint or a masked `<*>` when anything readable is there."""
        if self.error_type and not TEMPLATE_ID.fullmatch(self.error_type):
            return self.error_type[:120]
        readable = self.title or (self.template if WILDCARD_TOKEN not in self.template else "")
        return (readable or self.template or self.error_type or self.fingerprint)[:120]

    @property
    def what(self) -> str:
        """The label with the route it failed on: "psycopg2.OperationalError at POST /v1/orders"."""
        label = self.label
        return f"{label} at {self.endpoint}" if self.endpoint and self.endpoint not in label else label


class PartialAggregate(Record):
    """Internal: what the batch extraction stage saw in one source offset range.

    Keyed to the same partition number as the `logs.raw` partition it covers, so the
    window agent can drop ranges it already counted (crash between produce and commit).
    """

    source_partition: int
    offset_from: int  # inclusive
    offset_to: int  # inclusive
    watermark: float  # max(event time, tick) seen in this partition so far
    # How many `logs.raw` partitions feed the window books: a window closes only when the
    # low watermark over all of them has passed it (0: a record from before this field).
    source_partitions: int = 0
    # "This source partition is caught up and has had nothing new for a while": no
    # offsets, the window books stop waiting for it until it sends data again.
    idle: bool = False
    # service -> window_start (as str, JSON keys) -> counters and findings
    windows: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    dead_letters: int = 0


class BookSnapshot(Record):
    """Internal: the state of one window book after it applied `signals.partials` up to
    `consumed_to` (inclusive). Published, acknowledged, and only then are the partials'
    offsets committed: a restart resumes from the last snapshot and re-applies the rest,
    so nothing applied is ever lost with an uncommitted table write."""

    book_partition: int
    consumed_to: int
    book: dict[str, Any] = Field(default_factory=dict)


class FatalSignal(Record):
    """Internal: a fatal line's finding, sent by the extract stage before its window closes.

    One per fingerprint, window and source partition (its `id` leaves the partition out,
    so the incident reducer takes the first and drops the others). The finding counts
    what that partition had seen of it when the record was sent: provisional, replaced
    by the window's summary when the window closes. `at` is the first fatal line's event
    time, the time the reducer runs on."""

    id: str  # "service|window_start|fingerprint"
    service: str
    window_start: float
    at: float
    finding: Finding
    source_partition: int = -1


class RouteCount(BaseModel):
    """Requests to one route in one window, from access logs: how many, how many failed (5xx)."""

    requests: int = 0
    failed: int = 0


class WindowSummary(Record):
    """One service's 60-second window: errors, clean or silent. Public-ish input."""

    id: str  # "service|window_start|version"
    service: str
    window_start: float
    window_end: float
    status: Literal["errors", "clean", "silent"]
    lines: int = 0
    errors: int = 0
    warnings: int = 0
    late_lines: int = 0
    ignored: int = 0
    findings: list[Finding] = Field(default_factory=list)
    # Access-log requests per route ("POST /v1/orders/{id}", the same form as
    # `Finding.endpoint`), bounded to the busiest routes; empty without access logs.
    routes: dict[str, RouteCount] = Field(default_factory=dict)
    version: int = 1


class Alert(Record):
    """An alert from a monitoring tool, normalised by a gateway driver."""

    id: str  # deterministic: source + fingerprint + status + started
    source: str  # alertmanager | grafana | pagerduty | datadog | newrelic | opsgenie | zabbix | generic
    fingerprint: str
    name: str
    status: Literal["firing", "resolved"]
    severity: Literal["critical", "warning", "info"] = "warning"
    service: str = "unknown"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: float | None = None
    ends_at: float | None = None
    description: str = ""
    received_at: float = 0.0
    raw: dict[str, Any] | list[Any] | None = None


class CheckResult(Record):
    """A host check (cpu, memory, disk, network, process), probe or baseline result.

    `status` is `unknown` when the check could not say (it timed out or failed to run):
    that neither opens nor resolves anything. A firing check's finding resolves after
    `recover_after` ok results in a row (hysteresis), counted by the incident reducer.
    """

    id: str
    check: str  # "disk:/var", "net:eth0", "tcp:db:5432", "process:nginx", "probe:queue_depth", "baseline:..."
    service: str
    host: str = ""
    status: Literal["ok", "warn", "fail", "unknown"]
    kind: Literal["check", "probe", "baseline"] = "check"
    value: float | None = None
    threshold: float | None = None  # the threshold the value crossed, if any
    warning_threshold: float | None = None
    critical_threshold: float | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    units: dict[str, str] = Field(default_factory=dict)  # metric -> unit
    duration_s: float = 0.0
    recover_after: int = 1
    message: str = ""
    at: float


class ProbeRequest(Record):
    """A curated probe asked for by name during an investigation (`checks.requests`).

    Only a name: the checks stage runs the probe so named in its own configuration, or
    nothing. Never a command, a path or an argument.
    """

    id: str  # "<AI request id>|<probe>": a redelivery is the same request
    service: str  # the service whose incident asked
    incident_id: str = ""
    probe: str
    requested_by: str = ""  # "ai:<provider>" (who chose the name)
    at: float


class IncidentEvent(Record):
    """Public contract on `incidents.events`. See schemas/json/incidents.events.json."""

    event_id: str  # deterministic: incident_id + type + sequence
    type: Literal[
        "opened",
        "finding_added",
        "severity_changed",
        "update_posted",
        "resolved",
        "reopened",
        "ticket_created",
        "ticket_commented",
        "ticket_resolved",
        "registry_matched",
        "registry_added",
        "registry_expired",
        "oneoff_ticketed",
        "digest",
        "review_posted",
        "fix_proposed",
        "fix_approved",
        "fix_escalated",
        "fix_executed",
        "fix_expired",
        "fix_started",
        "fix_verified",
        "fix_failed",
        "approval_refused",
        "acknowledged",
        "note_added",
        "closed",
    ]
    incident_id: str = ""
    service: str = ""
    at: float  # event time
    severity: str = ""
    title: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


class AIRequest(Record):
    request_id: str  # deterministic, doubles as cache/idempotency key
    task: Literal["classify", "match", "summary", "update", "report", "review", "health"]
    service: str
    incident_id: str = ""
    fingerprint: str = ""
    at: float = 0.0
    payload: dict[str, Any] = Field(default_factory=dict)


class AIResult(Record):
    request_id: str
    task: str
    service: str
    incident_id: str = ""
    fingerprint: str = ""
    at: float = 0.0
    output: dict[str, Any] = Field(default_factory=dict)
    provider: str = "local"
    model: str = ""
    fallback: bool = False


class AIAudit(Record):
    """One AI request's fate. Written by the AI stage when it answers, and by the incident
    stage with `outcome="expired"` (provider "incidents") when it stopped waiting for the
    answer (`ai_timeout_s` of event time passed) and decided with its built-in rules: a
    replay reads those to decide the same way (`streams.replay.answers`)."""

    request_id: str
    task: str
    provider: str
    model: str = ""
    prompt_version: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cached: bool = False
    fallback: bool = False
    fallback_reason: str = ""
    outcome: Literal["ok", "invalid_output", "error", "timeout", "over_budget", "cached", "expired"] = "ok"
    at: float = 0.0


class OutboxMessage(Record):
    """Something to deliver. `key` is the idempotency key of this delivery."""

    key: str
    kind: Literal[
        "alert",
        "update",
        "resolved",
        "digest",
        "ticket_create",
        "ticket_comment",
        "ticket_resolve",
        "oneoff_ticket",
        "approval_request",
        "alert_edit",  # the first alert's message edited in place (the AI summary arrived)
    ]
    incident_id: str = ""
    service: str = ""
    severity: str = ""
    title: str
    body: str = ""
    fields: dict[str, str] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)  # empty: routing rules decide
    at: float = 0.0


class Receipt(Record):
    key: str
    channel: str
    service: str = ""
    status: Literal["delivered", "failed", "duplicate_skipped"]
    incident_id: str = ""
    kind: str = ""
    external_ref: str = ""  # Slack ts, Jira key, PagerDuty dedup_key, ...
    attempts: int = 1
    error: str = ""  # never contains a secret
    at: float = 0.0  # event time of the outbox record this answers (drives the reducer's clock)
    delivered_at: float = 0.0  # wall-clock time of the delivery


class Approval(Record):
    """A step of a fix's approval: the reducer's request, a person's decision, the executor's report.

    Who writes which action (ops/APPROVALS.md):
    - "requested": the incident reducer, when it proposes an allowlisted runbook
      (`runbook`, `params` taken from the incident, never from log or model text);
    - "approve" / "escalate": a person, by a signed link, a Slack button, the CLI, the
      authenticated HTTP API or the console page (`actor`, `via`, `reason`);
    - "expired": never written by anyone but kept readable (older records);
    - "started" / "executed": the executor stage, before it runs the runbook and with
      its outcome (`status`, `exit_status`, `output` redacted and truncated, `dry_run`).
    The reducer alone decides what a decision does: a decision on an approval that is
    not pending any more changes nothing (an `approval_refused` event says why).
    """

    approval_id: str
    incident_id: str
    service: str = ""  # the incident's service, also the topic key
    action: Literal["requested", "approve", "escalate", "expired", "started", "executed"]
    runbook: str = ""
    params: dict[str, str] = Field(default_factory=dict)
    actor: str = ""  # who: "slack:U123", "cli:alice", "http:<token name>", "link", "logwarden"
    via: str = ""  # link, slack, cli, http, console, opsguard, executor, reducer
    reason: str = ""  # a person's words (escalate), redacted before publishing
    decision_id: str = ""  # unique per decision (idempotence: a redelivered decision counts once)
    status: str = ""  # executed: ok, failed, timeout, interrupted, refused
    exit_status: int | None = None
    dry_run: bool = True
    output: str = ""  # executed: the command's output, redacted, at most 4 KiB
    at: float = 0.0
    detail: dict[str, Any] = Field(default_factory=dict)  # free-form, e.g. the review's rationale

    @model_validator(mode="before")
    @classmethod
    def _service_from_detail(cls, data: Any) -> Any:
        # Added field, same schema_version: records written before it carried the
        # service in detail["service"], and must still find their service.
        if isinstance(data, dict) and not data.get("service"):
            detail = data.get("detail")
            if isinstance(detail, dict) and isinstance(detail.get("service"), str):
                data = {**data, "service": detail["service"]}
        return data


class FixOrder(Record):
    """The reducer's order to the executor stage: run this approved runbook, once.

    Published only after the reducer accepted the approval(s). `params` were validated
    against the runbook's declared schema and come from the incident itself.
    """

    approval_id: str  # the executor runs each approval id at most once
    incident_id: str
    service: str
    runbook: str
    params: dict[str, str] = Field(default_factory=dict)
    approved_by: list[str] = Field(default_factory=list)
    dry_run: bool = True  # the runbook's and the configuration's say together
    at: float = 0.0


class IncidentAction(Record):
    """A person's action on an incident: acknowledge, note, resolve by hand, close."""

    action_id: str  # unique per action (idempotence)
    incident_id: str
    service: str = ""  # topic key
    action: Literal["acknowledge", "note", "resolve", "close"]
    actor: str = ""
    via: str = ""  # cli, http, slack, console
    text: str = ""  # the note or the reason, redacted before publishing
    at: float = 0.0


class DeadLetter(Record):
    """What could not be processed, with why. Nothing is dropped silently."""

    source_topic: str
    partition: int = -1
    offset: int = -1
    key: str = ""
    stage: str = ""  # extract | gateway | incidents | notify | ai
    reason: str  # short machine-readable reason, e.g. "invalid_utf8", "too_large"
    error: str = ""  # human-readable message (no secrets)
    payload: str = ""  # the input, truncated, as text (undecodable bytes escaped)
    payload_bytes: int = 0
    at: float = 0.0


def encode_tick(ts: float) -> bytes:
    """A Tick as bytes that start with `{"tick":`, so the extractor spots it with one
    prefix comparison instead of parsing JSON for every record."""
    return b'{"tick":%s,"schema_version":1}' % repr(float(ts)).encode()


def encode(record: BaseModel) -> bytes:
    """Record to the JSON bytes carried on a topic."""
    return record.model_dump_json(exclude_none=False).encode()


def decode(model: type[Record], data: bytes | str) -> Any:
    """JSON bytes from a topic to a record; raises pydantic.ValidationError."""
    return model.model_validate_json(data)
