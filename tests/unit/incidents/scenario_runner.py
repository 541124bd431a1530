"""Plays a scenario file through the incident reducer and renders its effects as text.

The runner stands in for the rest of the pipeline: it answers AIRequests with the
outputs the scenario gives (playing the AI agent), answers ticket requests with Jira
receipts (playing notify), and feeds DigestParts to the digest aggregator. Everything
is keyed by event time from the scenario, so a run is deterministic.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import yaml

from agents.incidents import layout
from agents.incidents.config import IncidentsConfig
from agents.incidents.digest import DigestBook, DigestPart, apply_digest_part
from agents.incidents.effects import Effect, Publish, WriteReport
from agents.incidents.lifecycle import apply, event_time
from agents.incidents.state import ServiceState
from agents.runbooks.catalog import load_catalog
from schemas.records import (
    AIRequest,
    AIResult,
    Alert,
    Approval,
    CheckResult,
    Clock,
    Finding,
    FixOrder,
    IncidentAction,
    IncidentEvent,
    OutboxMessage,
    Receipt,
    WindowSummary,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "incidents"
# The project's own runbook catalog, as production loads it (streams.config).
CATALOG = load_catalog(Path(__file__).resolve().parents[3] / "ops" / "runbooks" / "index.toml")

DEFAULT_AI: dict[str, dict[str, Any]] = {
    "classify": {"severity": "P2", "one_off": False, "category": "code",
                 "probable_cause": "scenario default", "confidence": 0.6},
    "match": {"entry_id": None, "confidence": 0.2, "reason": "nothing similar"},
    "summary": {"title": "Summary", "text": "AI summary"},
    "update": {"title": "Update", "text": "AI update"},
    "report": {"title": "Report", "text": "AI resolution report"},
    "review": {"fix_needed": False, "rationale": "no fix"},
}


def store_writes(table: dict[str, Any], writes: Any) -> None:
    """Carry out table writes, (key, value) pairs or `Store`s, as the changelog gives them
    back (JSON types); a `None` value deletes."""
    for write in writes:
        key, value = (write.key, write.value) if hasattr(write, "key") else write
        if value is None:
            table.pop(key, None)
        else:
            table[key] = orjson.loads(orjson.dumps(value))


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _sample(spec: dict[str, Any]) -> list[str]:
    if "samples_from" in spec:
        return [(DATA / spec["samples_from"]).read_text()[:1000]]
    return list(spec.get("samples", []))


def _finding(spec: dict[str, Any], service: str, at: float) -> Finding:
    fields = {k: v for k, v in spec.items() if k not in ("samples_from", "samples")}
    return Finding(service=service, first_seen=at, last_seen=at, samples=_sample(spec), **fields)


def _alert_from_alertmanager(spec: dict[str, Any], service: str, at: float) -> Alert:
    payload = json.loads((DATA / spec["file"]).read_text())
    raw = payload["alerts"][spec.get("index", 0)]
    status = spec.get("status", raw["status"])
    return Alert(id=f"alertmanager|{raw['fingerprint']}|{status}|{raw['startsAt']}", source="alertmanager",
                 fingerprint=raw["fingerprint"], name=raw["labels"]["alertname"], status=status,
                 severity=spec.get("severity", "critical"), service=service, labels=raw["labels"],
                 annotations=raw["annotations"], description=raw["annotations"].get("description", ""),
                 starts_at=at, received_at=at, raw=raw)


@dataclass
class Run:
    """The result of playing a scenario: every effect, in order, plus the final states."""

    effects: list[Effect] = field(default_factory=list)
    states: dict[str, ServiceState] = field(default_factory=dict)
    caused_by_minute: list[int] = field(default_factory=list)  # per effect: timeline minute that led to it
    book: DigestBook | None = None

    def records(self, kind: type) -> list[Any]:
        return [e.record for e in self.effects
                if isinstance(e, Publish) and isinstance(e.record, kind)]

    def events(self) -> list[str]:
        """Incident events as "type incident-id" (or service); digests are checked by `digests`."""
        return [f"{r.type} {r.incident_id or r.service}" for r in self.records(IncidentEvent) if r.type != "digest"]

    def event_ids(self) -> list[str]:
        return [r.event_id for r in self.records(IncidentEvent) if r.type != "digest"]

    def outbox(self) -> list[str]:
        return [f"{r.kind} {r.severity}".strip() for r in self.records(OutboxMessage) if r.kind != "digest"]

    def ai(self) -> list[str]:
        return [r.task for r in self.records(AIRequest)]

    def reports(self) -> list[WriteReport]:
        return [e for e in self.effects if isinstance(e, WriteReport)]

    def digests(self) -> list[dict[str, Any]]:
        return [{"period_start": datetime.fromtimestamp(r.data["period_start"], tz=timezone.utc).strftime("%H:%M"),
                 "clean": r.data["clean_services"], "opened": r.data["opened"], "resolved": r.data["resolved"],
                 "oneoffs": r.data["oneoffs"]}
                for r in self.records(IncidentEvent) if r.type == "digest"]

    def approvals(self) -> list[str]:
        return [f"{r.action} {r.runbook}" for r in self.records(Approval)]

    def orders(self) -> list[str]:
        return [f"{r.runbook} {'+'.join(r.approved_by)}{' dry_run' if r.dry_run else ''}"
                for r in self.records(FixOrder)]


class ScenarioPlayer:
    def __init__(self, scenario: dict[str, Any], roundtrip: bool | str = False):
        self.scenario = scenario
        # roundtrip: store every state as JSON and reload it before the next event, as a
        # restarted worker rebuilding its table from the changelog would; "table": store
        # only the changed parts in a table, as the stage shell does, and load from there.
        self.roundtrip = roundtrip
        self.table: dict[str, Any] = {}
        # `approvals`: the [approvals] policy (approvers, second_approver_for_p1, proposal_ttl_s).
        self.cfg = IncidentsConfig(**scenario.get("config", {})).with_fix_policy(
            CATALOG.runbooks, **scenario.get("approvals", {}))
        self.start = datetime.fromisoformat(scenario["start"].replace("Z", "+00:00")).timestamp()
        self.ai = {**DEFAULT_AI, **scenario.get("ai", {}).get("outputs", {})}
        self.classify_by_fp = scenario.get("ai", {}).get("classify_by_fingerprint", {})
        self.match_by_fp = scenario.get("ai", {}).get("match_by_fingerprint", {})
        self.unanswered = set(scenario.get("ai", {}).get("unanswered", []))
        # Who answers: "local" (the default) is the built-in text the first alert already
        # carries; any other name stands for a model, whose summary edits the first alert.
        self.provider = scenario.get("ai", {}).get("provider", "local")
        self.findings = scenario.get("findings", {})
        self.tickets = 0
        self.ticket_services: dict[str, str] = {}
        self.run = Run()
        self.queue: deque[Any] = deque()

    def inputs(self) -> list[tuple[int, Any]]:
        """The timeline expanded into input records, by minute; same-minute items in file order."""
        out: list[tuple[int, int, Any]] = []
        for position, item in enumerate(self.scenario["timeline"]):
            minutes = item.get("minutes") or [item["minute"], item["minute"]]
            for minute in range(minutes[0], minutes[1] + 1, item.get("every", 1)):
                out.append((minute, position, self._input(item, minute)))
        return [(minute, record) for minute, _, record in sorted(out, key=lambda t: (t[0], t[1]))]

    def _input(self, item: dict[str, Any], minute: int) -> Any:
        at = self.start + minute * 60
        service = item.get("service", self.scenario.get("service", "checkout"))
        if "window" in item:
            spec = item["window"]
            findings = [_finding(self.findings[name], service, at) for name in spec.get("findings", [])]
            status = spec.get("status", "errors" if findings else "clean")
            return WindowSummary(id=f"{service}|{at:.0f}|1", service=service, window_start=at, window_end=at + 60,
                                 status=status, lines=spec.get("lines", 0 if status == "silent" else 100),
                                 errors=sum(f.count for f in findings), findings=findings)
        if "alertmanager" in item:
            return _alert_from_alertmanager(item["alertmanager"], service, at)
        if "clock" in item:  # a tick of incidents.clock, `clock` seconds into the minute
            return Clock(at=at + item["clock"], service=service)
        if "approval" in item:  # a person's decision or the executor's report, `second` into the minute
            spec = dict(item["approval"])
            at += spec.pop("second", 0)
            incident_id = spec["approval_id"].split(":fix:")[0]
            return Approval(incident_id=incident_id, service=service, at=at, **spec)
        if "action" in item:  # a person's action on an incident
            spec = dict(item["action"])
            at += spec.pop("second", 0)
            action_id = spec.pop("action_id", f"{spec['incident_id']}|{spec['action']}|{at:.0f}")
            return IncidentAction(action_id=action_id, service=service, at=at, **spec)
        if "check" in item:
            spec = item["check"]
            return CheckResult(id=f"{spec['check']}|{spec['status']}|{at:.0f}", service=service, at=at, **spec)
        raise ValueError(f"unknown timeline item {item}")

    def feed(self, record: Any, minute: int = 0) -> None:
        self.queue.append(record)
        while self.queue:
            current = self.queue.popleft()
            service = self._service_of(current)
            previous = self.run.states.get(service)
            if self.roundtrip == "table":  # stored in parts, read back (agents/incidents/layout.py)
                previous = layout.load(self.table, service)
            elif self.roundtrip and previous is not None:
                previous = ServiceState.from_json(previous.to_json())
            state, effects = apply(previous, current, event_time(current), self.cfg)
            self.run.states[service] = state
            if self.roundtrip == "table":
                store_writes(self.table, layout.changed_parts(self.table, state.model_dump(mode="json")))
            self.run.effects += effects
            self.run.caused_by_minute += [minute] * len(effects)
            for effect in effects:
                self._answer(effect, minute)

    def _service_of(self, record: Any) -> str:
        if isinstance(record, Receipt):  # on the broker, the topic key says whose it is
            return self.ticket_services[record.key]
        return record.service

    def _answer(self, effect: Effect, minute: int) -> None:
        if not isinstance(effect, Publish):
            return
        record = effect.record
        if isinstance(record, AIRequest) and record.task not in self.unanswered:
            output = self.ai[record.task]
            if record.task == "classify" and record.fingerprint in self.classify_by_fp:
                output = {**output, **self.classify_by_fp[record.fingerprint]}
            if record.task == "match" and record.fingerprint in self.match_by_fp:
                output = {**output, **self.match_by_fp[record.fingerprint]}
            if record.task == "classify" and record.payload.get("incident"):
                output = {**output, "summary": self.ai["summary"]}  # one request, both answers
            self.queue.append(AIResult(request_id=record.request_id, task=record.task, service=record.service,
                                       incident_id=record.incident_id, fingerprint=record.fingerprint,
                                       at=record.at, output=output, provider=self.provider))
        elif isinstance(record, OutboxMessage) and record.kind in ("ticket_create", "oneoff_ticket"):
            self.tickets += 1
            self.ticket_services[record.key] = record.service
            self.queue.append(Receipt(key=record.key, channel="jira", status="delivered", incident_id=record.incident_id,
                                      kind=record.kind, external_ref=f"OPS-{self.tickets}", at=record.at))
        elif isinstance(record, DigestPart):
            self.run.book, out = apply_digest_part(self.run.book, record, self.cfg)
            self.run.effects += out
            self.run.caused_by_minute += [minute] * len(out)

    def play(self) -> Run:
        for minute, record in self.inputs():
            self.feed(record, minute)
        return self.run


def play(scenario: dict[str, Any], roundtrip: bool | str = False) -> Run:
    return ScenarioPlayer(scenario, roundtrip).play()
