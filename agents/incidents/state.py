"""The state of one service: its incident, its registry of known issues, its counters.

One `ServiceState` is one value of the changelogged table keyed by service, so it must
stay JSON-serialisable, round-trip exactly through `to_json()`/`from_json()`, and stay
bounded in size. This module holds data only: it never decides anything and never
reads a clock.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Finding, RouteCount

__all__ = [
    "FindingDecision",
    "FixProposal",
    "HourCounters",
    "Incident",
    "IncidentSummary",
    "ONEOFF_JOINED",
    "PendingRequest",
    "PeriodCounts",
    "ProvisionalCount",
    "RegistryEntry",
    "SEVERITY_RANK",
    "ServiceState",
    "higher_severity",
]

# Higher rank is worse. "" means not yet known.
SEVERITY_RANK = {"": 0, "P4": 1, "P3": 2, "P2": 3, "P1": 4}


def higher_severity(a: str, b: str) -> str:
    return a if SEVERITY_RANK.get(a, 0) >= SEVERITY_RANK.get(b, 0) else b


class _State(BaseModel):
    # Forbid unknown fields: a typo in the reducer must fail loudly, not vanish.
    model_config = ConfigDict(extra="forbid")


class RegistryEntry(_State):
    """A known issue, keyed by (endpoint, error_type) within the service."""

    entry_id: str  # "service|endpoint|error_type"
    service: str
    endpoint: str
    error_type: str
    fingerprint: str
    template: str = ""
    severity: str = ""  # P1..P3 from the classification, P4 for one-offs
    summary: str = ""
    ticket_label: str = ""  # label the notify stage finds the ticket by
    jira_ticket_id: str = ""  # filled from the ticket_create / oneoff_ticket receipt
    first_seen: float
    last_seen: float
    occurrences: int = 1


# `FindingDecision.category` of a one-off that joined an open incident instead of
# getting a ticket of its own (lifecycle `_join_oneoff`); the incident text says so.
ONEOFF_JOINED = "one-off joined"


class FindingDecision(_State):
    """How one fingerprint of an incident was settled (registry hit, AI match, classification)."""

    stage: Literal["matching", "classifying", "done"]
    severity: str = ""
    entry_id: str = ""
    category: str = ""
    probable_cause: str = ""
    floor: str = ""  # the lowest severity its impact allows (agents.incidents.impact), "" none
    impact: str = ""  # why, in one line
    # The window counts it was settled with (the service's errors and lines, its route's
    # access-log requests): a classification asked again (AI timeout, invalid answer) or
    # decided locally for the first alert reads what the AI was asked with.
    window_errors: int = 0
    window_lines: int = 0
    route: RouteCount | None = None
    # The finding's own count in that window (0: not recorded, a state written before):
    # asked again later, the classification reads this count, not the incident's running
    # total ("40x in the window" after five windows of 8 was the wrong text of a timeout).
    window_count: int = 0


class ProvisionalCount(_State):
    """A finding counted ahead of its window (a fatal line's fast path): the count its
    window's summary replaces when it arrives."""

    window_start: float
    count: int


class PendingRequest(_State):
    """An AI request not answered yet; timed out by event time, never by the wall clock."""

    request_id: str
    task: str
    incident_id: str
    fingerprint: str = ""
    asked_at: float


class FixProposal(_State):
    """A runbook proposed for an incident, from the request to the verdict (ops/APPROVALS.md).

    pending -> approved (order out) -> running -> verifying -> verified | failed;
    pending -> escalated | expired | withdrawn (the incident resolved or was closed);
    a run that did not end ok is escalated at once.
    """

    approval_id: str  # "<incident id>:fix:<n>"
    incident_id: str
    runbook: str
    params: dict[str, str] = Field(default_factory=dict)
    command: list[str] = Field(default_factory=list)  # the argv it would run (shown before anyone decides)
    dry_run: bool = True
    origin: Literal["open", "review"] = "open"
    status: Literal["pending", "approved", "running", "verifying", "verified", "failed", "escalated",
                    "expired", "withdrawn"] = "pending"
    proposed_at: float
    expires_at: float
    approved_by: list[str] = Field(default_factory=list)
    executed_at: float | None = None
    verify_from: float | None = None  # the run's first full window starts here
    verify_until: float | None = None
    errors_after_run: bool = False


class Incident(_State):
    incident_id: str
    service: str
    status: Literal["open", "resolved"] = "open"
    title: str = ""
    severity: str = ""
    opened_at: float
    resolved_at: float | None = None
    # Clean windows in a row that resolved it: what the report says, whatever the streak
    # has grown to by the time the report is written.
    resolved_clean_windows: int = 0
    last_issue_at: float
    windows_with_errors: int = 0
    reopen_count: int = 0
    findings: dict[str, Finding] = Field(default_factory=dict)  # merged by fingerprint
    provisional: dict[str, ProvisionalCount] = Field(default_factory=dict)  # fingerprint -> counted ahead
    decisions: dict[str, FindingDecision] = Field(default_factory=dict)
    firing: dict[str, str] = Field(default_factory=dict)  # alert/check fingerprint -> source
    check_oks: dict[str, int] = Field(default_factory=dict)  # firing check fingerprint -> ok results in a row
    timeline: list[dict[str, Any]] = Field(default_factory=list)  # {"at", "text"}
    ticket_label: str = ""
    ticket_requested: bool = False  # a ticket is requested at most once per incident
    tickets: list[str] = Field(default_factory=list)  # Jira keys: own and known issues'
    alerted: bool = False
    alerted_severity: str = ""
    last_notification_at: float = 0.0
    summary_text: str = ""
    report_text: str = ""
    report_written: bool = False
    ai_seq: int = 0
    fix_seq: int = 0  # numbers the incident's approval ids
    acknowledged_by: str = ""  # on-call is not paged again once someone acknowledged
    acknowledged_at: float | None = None
    escalated: bool = False  # on-call was paged by an escalation


class IncidentSummary(_State):
    """What the read side keeps of a closed incident."""

    incident_id: str
    title: str = ""
    severity: str = ""
    opened_at: float
    resolved_at: float | None = None
    tickets: list[str] = Field(default_factory=list)
    findings: int = 0
    reopen_count: int = 0
    closed_by: str = ""  # a person who closed it by hand


class PeriodCounts(BaseModel):
    """What one service did during one digest period (shared by HourCounters and DigestPart)."""

    period_start: float
    clean_windows: int = 0
    silent_windows: int = 0
    error_windows: int = 0
    oneoffs: list[str] = Field(default_factory=list)  # fingerprints ticketed silently
    opened: list[str] = Field(default_factory=list)  # incident ids
    resolved: list[str] = Field(default_factory=list)


class HourCounters(_State, PeriodCounts):
    """The running digest period of one service, sent as a DigestPart when it ends."""


class ServiceState(_State):
    service: str
    # The topic partition this service's records arrive on, written by the stage shell so
    # a clock tick reaches the states of its own partition (-1: not known yet).
    partition: int = -1
    clock: float = 0.0  # highest event time seen: timers never run backwards
    clean_streak: int = 0
    all_clear_counter: int = 0
    incident_counter: int = 0
    event_seq: int = 0
    outbox_seq: int = 0
    incident: Incident | None = None
    closed: list[IncidentSummary] = Field(default_factory=list)
    registry: dict[str, RegistryEntry] = Field(default_factory=dict)
    registry_cleaned_at: float | None = None
    fingerprints_seen: dict[str, float] = Field(default_factory=dict)  # fp -> last window
    pending: dict[str, PendingRequest] = Field(default_factory=dict)
    pending_tickets: dict[str, str] = Field(default_factory=dict)  # outbox key -> label
    approvals: dict[str, str] = Field(default_factory=dict)  # approval id -> incident id
    fixes: dict[str, FixProposal] = Field(default_factory=dict)  # approval id -> proposal, bounded
    seen_ids: list[str] = Field(default_factory=list)  # redelivery guard, bounded
    # The redelivery guard of window summaries: per summary version, the start of the
    # latest window taken. A service's windows come from one book, which closes minutes
    # strictly in order (`agents.extract.windows._close_due`), so a window at or before
    # it was taken already.
    windows_through: dict[str, float] = Field(default_factory=dict)
    counters: HourCounters | None = None
    opened_total: int = 0
    resolved_total: int = 0
    last_time_to_resolve_s: float | None = None

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, data: str | bytes) -> "ServiceState":
        return cls.model_validate_json(data)
