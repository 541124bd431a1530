"""Inputs and outputs of every AI task: the contract between the incident agent
(which asks, on `ai.requests`) and the AI agent (which answers, on `ai.results`).

`AIRequest.payload` is the task's input model dumped to a dict; `AIResult.output` is
the task's output model dumped to a dict. Every provider, the local one included, must
produce output that validates against these models; the AI agent validates before
publishing, so the incident agent can trust the shape (never the judgement).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.records import Finding, RouteCount

__all__ = [
    "ClassifyInput", "ClassifyOutput", "HealthInput", "HealthSeries", "HealthService", "MatchInput",
    "MatchOutput", "NarrativeInput", "NarrativeOutput", "RegistryCandidate", "ReviewInput", "ReviewOutput",
    "TASKS",
]


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore")




class RegistryCandidate(_M):
    entry_id: str  # "service|endpoint|error_type"
    endpoint: str
    error_type: str
    template: str
    summary: str = ""
    jira_ticket_id: str = ""


class MatchInput(_M):
    service: str
    finding: Finding
    candidates: list[RegistryCandidate] = Field(max_length=10)


class MatchOutput(_M):
    entry_id: str | None  # one of the candidates' entry_id, or None
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = Field("", max_length=500)
    note: str = Field("", max_length=2000)  # reappearance note for the ticket comment


class NarrativeInput(_M):
    """Input of summary (first alert), update (5-minute), report (resolution)."""

    service: str
    incident_id: str
    severity: str
    opened_at: float
    now: float
    findings: list[Finding]  # the incident's full history, merged by fingerprint
    timeline: list[dict] = Field(default_factory=list)  # [{"at":..., "text":...}]
    tickets: list[str] = Field(default_factory=list)
    windows_with_errors: int = 0
    clean_streak: int = 0  # of a resolved incident: the clean windows in a row that resolved it
    resolved_at: float | None = None
    # One-offs seen while the incident was open that joined it instead of getting a
    # ticket of their own (what each is, readable).
    oneoffs_joined: list[str] = Field(default_factory=list)
    # Why it is as severe as it is, one line: the impact of its worst finding ("40 of 50
    # requests to POST /v1/orders failed (80%, write path)"); "" when no impact rule applied.
    impact: str = ""


class NarrativeOutput(_M):
    title: str = Field(max_length=200)
    text: str = Field(max_length=8000)  # plain text / light Markdown


class ClassifyInput(_M):
    service: str
    finding: Finding
    window_errors: int = 0  # errors of this service in the window
    window_lines: int = 0
    seen_before: int = 0  # windows in which this fingerprint was seen before
    # Access-log requests to `finding.endpoint` in the window and how many failed (5xx);
    # left out of the dump when unknown (no access logs for that route).
    route: RouteCount | None = Field(None, exclude_if=lambda value: value is None)
    # Set on an incident's first classification: the model also writes the first-alert
    # summary, so one round trip answers both questions.
    incident: NarrativeInput | None = Field(None, exclude_if=lambda value: value is None)
    # The runbooks the answer may name (the allowlist; left out of the dump when empty).
    runbooks: list[str] = Field(default_factory=list, exclude_if=lambda value: not value)
    # The curated probes the answer may ask to run now, by name (the configured ones).
    probes: list[str] = Field(default_factory=list, exclude_if=lambda value: not value)


class ClassifyOutput(_M):
    severity: Literal["P1", "P2", "P3"]
    one_off: bool
    category: str  # e.g. "database", "dependency", "http", "resource", "code", "security"
    probable_cause: str = Field(max_length=500)
    confidence: float = Field(ge=0.0, le=1.0)
    # The first-alert summary, when `incident` was given (left out of the dump when absent).
    summary: NarrativeOutput | None = Field(None, exclude_if=lambda value: value is None)
    # A runbook of ClassifyInput.runbooks that would fix this now (only ever proposed to a
    # person), and suggested parameters; the incident decides the real values
    # (agents/runbooks/params.py). Left out of the dump when absent.
    runbook: str | None = Field(
        None, max_length=64, exclude_if=lambda value: value is None,
        description="Only one of the input's `runbooks`, and only when it would fix this; else leave it out.")
    params: dict[str, str] | None = Field(
        None, exclude_if=lambda value: value is None,
        description="Suggested runbook parameters (plain tokens); the incident decides the real values.")
    # Probes of ClassifyInput.probes whose value now would help the investigation; names
    # only, the checks stage runs what its configuration says. Left out of the dump when empty.
    probes: list[str] = Field(
        default_factory=list, exclude_if=lambda value: not value,
        description="Only names from the input's `probes`, and only when their value now would help; else leave out.")


class ReviewInput(_M):
    service: str
    incident_id: str
    report: str
    tickets: list[str] = Field(default_factory=list)
    related_tickets: list[str] = Field(default_factory=list)  # registry tickets of the service
    runbooks: list[str] = Field(default_factory=list)  # the allowlist


class ReviewOutput(_M):
    fix_needed: bool
    runbook: str | None = None  # must be one of ReviewInput.runbooks, else rejected
    related_tickets: list[str] = Field(default_factory=list)
    rationale: str = Field("", max_length=2000)


class HealthSeries(_M):
    """One unusual series of a service over a health period: numbers and the usual band."""

    label: str  # "error rate", "log volume", "probe queue_depth"
    unit: str = ""
    readings: int
    unusual: int  # readings outside the usual band
    kind: str  # the worst reading: "high", "low" or "silent" (no log lines)
    peak: float | None = None
    peak_at: str  # "10:13", in the report's time zone
    usual_low: float
    usual_high: float
    usual_median: float
    usual_when: str  # "for Tuesday 10:00" or "recently"
    first: float
    last: float
    sentence: str  # the built-in sentence for these numbers, units written out


class HealthService(_M):
    service: str
    status: Literal["unusual", "normal", "learning"]  # learning: no usual values yet
    series_count: int
    unusual: list[HealthSeries] = Field(default_factory=list)
    normal: list[str] = Field(default_factory=list)  # labels of the series that stayed in their band
    line: str  # the built-in line for this service


class HealthInput(_M):
    """Input of the periodic health report: numbers only, never a log line."""

    period: str  # "2026-03-02 10:00 to 11:00 UTC"
    period_start: float
    period_end: float
    services: list[HealthService]
    late_values: int = 0  # values that came after the period closed, not counted


# task -> (input model, output model)
TASKS: dict[str, tuple[type[_M], type[_M]]] = {
    "classify": (ClassifyInput, ClassifyOutput),
    "match": (MatchInput, MatchOutput),
    "summary": (NarrativeInput, NarrativeOutput),
    "update": (NarrativeInput, NarrativeOutput),
    "report": (NarrativeInput, NarrativeOutput),
    "review": (ReviewInput, ReviewOutput),
    "health": (HealthInput, NarrativeOutput),
}
