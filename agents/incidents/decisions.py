"""Settling each finding of an incident: registry hit, AI match, or classification and ticket.

The first half of the lifecycle (`lifecycle.apply` calls it for every finding of a
window, alert or check): exact registry lookup by (endpoint, error_type) with a
reappearance comment; else an AI match against the latest registry entries; else
classification, a ticket (at most one per incident) and a registry entry; then the
first alert, and an immediate re-alert when the severity rises. Only fingerprints new
to the incident reach the AI. Never asks the AI twice for one fingerprint of an incident.
"""

from __future__ import annotations

from typing import Any

from agents.incidents import registry
from agents.incidents.effects import Step
from agents.incidents.narrative import narrative_input
from agents.incidents.state import FindingDecision, Incident, RegistryEntry, higher_severity
from agents.local_ai.narrative import narrate_locally, utc
from schemas.ai_tasks import ClassifyInput, ClassifyOutput, MatchInput, MatchOutput, NarrativeOutput
from schemas.records import Finding

__all__ = [
    "classify_payload",
    "maybe_first_alert",
    "on_classify",
    "on_match",
    "on_summary",
    "raise_severity",
    "settle_finding",
]

ALERTING = ("P1", "P2", "P3")


def classify_payload(step: Step, finding: Finding, window_errors: int = 0, window_lines: int = 0) -> dict[str, Any]:
    seen_before = 1 if finding.fingerprint in step.state.fingerprints_seen else 0
    return ClassifyInput(service=step.state.service, finding=finding, window_errors=window_errors,
                         window_lines=window_lines, seen_before=seen_before).model_dump(mode="json")


def settle_finding(step: Step, incident: Incident, finding: Finding, window_errors: int = 0,
                   window_lines: int = 0) -> None:
    decision = incident.decisions.get(finding.fingerprint)
    if decision is not None:
        entry = step.state.registry.get(decision.entry_id) if decision.entry_id else None
        if entry is not None:
            registry.touch(entry, step.now)
        return
    entry = registry.lookup(step.state, finding)
    if entry is not None:
        registry.touch(entry, step.now)
        _reappeared(step, incident, finding, entry, "exact", note="")
        return
    candidates = registry.match_candidates(step.state, step.cfg.registry_match_candidates)
    if candidates:
        incident.decisions[finding.fingerprint] = FindingDecision(stage="matching")
        payload = MatchInput(service=step.state.service, finding=finding, candidates=candidates)
        step.ask_ai("match", incident, payload.model_dump(mode="json"), finding.fingerprint)
        return
    _classify(step, incident, finding, window_errors, window_lines)


def _classify(step: Step, incident: Incident, finding: Finding, window_errors: int = 0,
              window_lines: int = 0) -> None:
    incident.decisions[finding.fingerprint] = FindingDecision(stage="classifying")
    step.ask_ai("classify", incident, classify_payload(step, finding, window_errors, window_lines),
                finding.fingerprint)


def _reappeared(step: Step, incident: Incident, finding: Finding, entry: RegistryEntry, how: str,
                note: str, confidence: float = 1.0) -> None:
    """A known issue is back: link its ticket to the incident and comment on it once."""
    already_linked = any(d.entry_id == entry.entry_id for d in incident.decisions.values())
    known_severity = entry.severity if entry.severity in ALERTING else ""
    incident.decisions[finding.fingerprint] = FindingDecision(
        stage="done" if known_severity else "classifying", severity=known_severity,
        entry_id=entry.entry_id)
    data = {"entry_id": entry.entry_id, "match": how, "confidence": confidence,
            "fingerprint": finding.fingerprint, "ticket": entry.jira_ticket_id}
    step.event("registry_matched", incident, data)
    step.note(incident, f"known issue {entry.entry_id} ({how} match)")
    if not incident.ticket_requested:
        # The known issue's ticket becomes the incident's ticket: no second ticket.
        incident.ticket_requested = True
        incident.ticket_label = entry.ticket_label
    if entry.jira_ticket_id and entry.jira_ticket_id not in incident.tickets:
        incident.tickets.append(entry.jira_ticket_id)
    if not already_linked and entry.ticket_label:
        body = note or (f"Seen again at {utc(step.now)} in incident {incident.incident_id}: "
                        f"{finding.count} occurrence(s); {entry.occurrences} window(s) in total.")
        step.outbox("ticket_comment", f"Reappeared: {entry.error_type} on {entry.service}", body,
                    incident, labels=[entry.ticket_label],
                    fields={"ticket": entry.jira_ticket_id, "entry_id": entry.entry_id})
        step.event("ticket_commented", incident, {"ticket": entry.jira_ticket_id,
                                                  "label": entry.ticket_label, "reason": "reappeared"})
    if known_severity:
        raise_severity(step, incident, known_severity)
    else:
        step.ask_ai("classify", incident, classify_payload(step, finding), finding.fingerprint)


def on_match(step: Step, incident: Incident, fingerprint: str, output: dict[str, Any]) -> None:
    finding = incident.findings.get(fingerprint)
    if finding is None:
        return
    match = MatchOutput.model_validate(output)
    entry = step.state.registry.get(match.entry_id) if match.entry_id else None
    if entry is None:  # no match, or a candidate that expired meanwhile
        _classify(step, incident, finding)
        return
    registry.touch(entry, step.now)
    _reappeared(step, incident, finding, entry, "ai", note=match.note, confidence=match.confidence)


def on_classify(step: Step, incident: Incident, fingerprint: str, output: dict[str, Any]) -> None:
    finding = incident.findings.get(fingerprint)
    if finding is None:
        return
    result = ClassifyOutput.model_validate(output)
    decision = incident.decisions.get(fingerprint) or FindingDecision(stage="classifying")
    decision.stage, decision.severity = "done", result.severity
    decision.category, decision.probable_cause = result.category, result.probable_cause
    incident.decisions[fingerprint] = decision
    step.note(incident, f"classified {fingerprint}: {result.severity} {result.category}")
    entry = step.state.registry.get(decision.entry_id) if decision.entry_id else None
    if entry is not None:
        # A known one-off (P4) that came back now carries its real severity.
        entry.severity = higher_severity(entry.severity, result.severity)
    else:
        _new_issue(step, incident, finding, result)
    raise_severity(step, incident, result.severity)


def _new_issue(step: Step, incident: Incident, finding: Finding, result: ClassifyOutput) -> None:
    """No known issue: ticket (once per incident) and a registry entry pointing at it."""
    state = step.state
    first_ticket = not incident.ticket_requested
    if first_ticket:
        incident.ticket_requested = True
        incident.ticket_label = incident.incident_id
    entry, evicted = registry.add_entry(state, finding, step.now, result.severity, incident.ticket_label,
                                        result.probable_cause, step.cfg.registry_max_entries)
    incident.decisions[finding.fingerprint].entry_id = entry.entry_id
    step.event("registry_added", incident, {"entry_id": entry.entry_id, "fingerprint": finding.fingerprint,
                                            "label": entry.ticket_label})
    for old in evicted:
        step.event("registry_expired", None, registry.expired_data(old, "capacity"))
    what = finding.label
    body = (f"{result.severity} {result.category}: {what}"
            + (f" at {finding.endpoint}" if finding.endpoint else "")
            + (f"\nProbable cause: {result.probable_cause}" if result.probable_cause else "")
            + (f"\nSample:\n{finding.samples[0]}" if finding.samples else ""))
    if first_ticket:
        message = step.outbox("ticket_create", f"[{result.severity}] {incident.title}", body, incident,
                              severity=result.severity, labels=[incident.ticket_label])
        state.pending_tickets[message.key] = incident.ticket_label
        step.note(incident, "ticket requested")
    else:
        step.outbox("ticket_comment", f"New finding in {incident.incident_id}", body, incident,
                    labels=[incident.ticket_label])
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "new_finding",
                                                  "fingerprint": finding.fingerprint})


def raise_severity(step: Step, incident: Incident, severity: str) -> None:
    new = higher_severity(incident.severity, severity)
    if new == incident.severity:
        maybe_first_alert(step, incident)
        return
    old, incident.severity = incident.severity, new
    if old:
        step.event("severity_changed", incident, {"from": old, "to": new})
        step.note(incident, f"severity {old} -> {new}")
    if incident.alerted and incident.status == "open" and new in ALERTING:
        # A rise re-alerts at once with built-in text: waiting for the AI would delay it.
        text = narrate_locally("summary", narrative_input(incident, step.now, step.state.clean_streak))
        step.outbox("alert", f"Severity raised to {new}: {incident.title}", text.text, incident)
        step.event("update_posted", incident, {"kind": "realert", "from": old, "to": new})
        incident.alerted_severity = new
        incident.last_notification_at = step.now
        return
    maybe_first_alert(step, incident)


def maybe_first_alert(step: Step, incident: Incident) -> None:
    if incident.alerted or incident.status != "open" or incident.severity not in ALERTING:
        return
    if any(p.task == "summary" and p.incident_id == incident.incident_id for p in step.state.pending.values()):
        return
    payload = narrative_input(incident, step.now, step.state.clean_streak).model_dump(mode="json")
    step.ask_ai("summary", incident, payload)


def on_summary(step: Step, incident: Incident, output: dict[str, Any]) -> None:
    if incident.alerted or incident.status != "open":
        return
    text = NarrativeOutput.model_validate(output)
    incident.summary_text = text.text
    step.outbox("alert", text.title, text.text, incident)
    step.event("update_posted", incident, {"kind": "alert"})
    step.note(incident, f"first alert sent ({incident.severity})")
    incident.alerted = True
    incident.alerted_severity = incident.severity
    incident.last_notification_at = step.now
