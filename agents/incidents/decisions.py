"""Settling each finding of an incident: registry hit, AI match, or classification and ticket.

The first half of the lifecycle (`lifecycle.apply` calls it for every finding of a
window, alert or check): exact registry lookup by (endpoint, error_type) with a
reappearance comment; else an AI match against the latest registry entries; else
classification, a ticket (at most one per incident) and a registry entry. The first
alert goes out as the incident opens, with built-in severity and text, never waiting
on a model; the AI's summary edits it later, and a rise in severity re-alerts at once. Only fingerprints new
to the incident reach the AI. Never asks the AI twice for one fingerprint of an incident.
"""

from __future__ import annotations

from typing import Any, Literal

from agents.incidents import fixes, registry
from agents.incidents.effects import Step
from agents.incidents.impact import Traffic, WindowVolume, impact_floor
from agents.incidents.narrative import narrative_input
from agents.incidents.state import ONEOFF_JOINED, FindingDecision, Incident, RegistryEntry, higher_severity
from agents.local_ai import fallback_output
from agents.local_ai.narrative import narrate_locally, utc
from schemas.ai_tasks import ClassifyInput, ClassifyOutput, MatchInput, MatchOutput, NarrativeInput, NarrativeOutput
from schemas.records import Finding, RouteCount

__all__ = [
    "EDIT_NOTE",
    "classify_payload",
    "maybe_first_alert",
    "on_classify",
    "on_match",
    "on_summary",
    "raise_severity",
    "settle_finding",
]

ALERTING = ("P1", "P2", "P3")
EDIT_NOTE = "(Edited: the AI summary replaced the built-in text of the first alert.)"


def classify_payload(step: Step, finding: Finding, traffic: Traffic | None = None) -> dict[str, Any]:
    """The classification request of `finding`: with `traffic`, or (asked again, or decided
    locally) with the counts its decision was settled with."""
    if traffic is None:
        incident = step.state.incident
        decision = incident.decisions.get(finding.fingerprint) if incident is not None else None
        traffic = _traffic_of(decision) if decision is not None else Traffic()
        if decision is not None and decision.window_count:
            finding = finding.model_copy(update={"count": decision.window_count})
    seen_before = 1 if finding.fingerprint in step.state.fingerprints_seen else 0
    route = (RouteCount(requests=traffic.endpoint_requests, failed=traffic.endpoint_failed)
             if traffic.endpoint_requests else None)
    return ClassifyInput(service=step.state.service, finding=finding, window_errors=traffic.errors,
                         window_lines=traffic.lines, route=route, seen_before=seen_before,
                         runbooks=list(step.cfg.runbook_specs)).model_dump(mode="json")


def _decision(stage: Literal["matching", "classifying", "done"], count: int, traffic: Traffic,
              **fields: Any) -> FindingDecision:
    route = (RouteCount(requests=traffic.endpoint_requests, failed=traffic.endpoint_failed)
             if traffic.endpoint_requests else None)
    return FindingDecision(stage=stage, window_errors=traffic.errors, window_lines=traffic.lines, route=route,
                           window_count=count,
                           **fields)


def _traffic_of(decision: FindingDecision) -> Traffic:
    route = decision.route
    return Traffic(errors=decision.window_errors, lines=decision.window_lines,
                   endpoint_requests=route.requests if route else 0, endpoint_failed=route.failed if route else 0)


def settle_finding(step: Step, incident: Incident, finding: Finding, volume: WindowVolume = WindowVolume()) -> None:
    """Settle one finding of a window; `volume` is that window's (the service's errors and
    lines, the access-log requests per route), read by the classification and the impact."""
    traffic = volume.traffic(finding)
    _settle(step, incident, finding, traffic)
    _apply_impact(step, incident, finding, traffic)


def _apply_impact(step: Step, incident: Incident, finding: Finding, traffic: Traffic) -> None:
    """The impact floor of a finding (crash, fatal level, whole service or every write
    failing): kept on its decision, said in the timeline, and a rise re-alerts at once."""
    impact = impact_floor(finding, traffic, step.cfg.severity)
    decision = incident.decisions.get(finding.fingerprint)
    if decision is not None and not impact.severity and impact.reason and not decision.floor:
        # No floor, but the route's numbers say why it is no worse ("3 of 900 requests to
        # GET /search failed in one minute (0.33%, read path)"): the alert's impact line says it.
        decision.impact = impact.reason
    if not impact.severity or decision is None or higher_severity(decision.floor, impact.severity) == decision.floor:
        return
    decision.floor, decision.impact = impact.severity, impact.reason
    step.note(incident, f"impact of {finding.what}: {impact.reason} (at least {impact.severity})")
    # A finding still being classified gets its floor with the answer (`on_classify`);
    # one settled before (its impact grew: the whole service fails now) re-alerts at once.
    if incident.alerted and decision.stage == "done":
        raise_severity(step, incident, impact.severity)


def _settle(step: Step, incident: Incident, finding: Finding, traffic: Traffic) -> None:
    decision = incident.decisions.get(finding.fingerprint)
    # A one-off that joined the incident and came back is a real finding now: settled
    # like any other (its registry entry makes it a known issue, then it is classified).
    if decision is not None and decision.category != ONEOFF_JOINED:
        entry = step.state.registry.get(decision.entry_id) if decision.entry_id else None
        if entry is not None:
            registry.touch(entry, step.now)
        return
    entry = registry.lookup(step.state, finding)
    if entry is not None:
        registry.touch(entry, step.now)
        _reappeared(step, incident, finding, entry, "exact", note="", traffic=traffic)
        return
    candidates = registry.match_candidates(step.state, step.cfg.registry_match_candidates)
    if candidates:
        incident.decisions[finding.fingerprint] = _decision("matching", finding.count, traffic)
        payload = MatchInput(service=step.state.service, finding=finding, candidates=candidates)
        step.ask_ai("match", incident, payload.model_dump(mode="json"), finding.fingerprint)
        return
    _classify(step, incident, finding, traffic)


def _classify(step: Step, incident: Incident, finding: Finding, traffic: Traffic) -> None:
    incident.decisions[finding.fingerprint] = _decision("classifying", finding.count, traffic)
    step.ask_ai("classify", incident, classify_payload(step, finding, traffic), finding.fingerprint)


def _reappeared(step: Step, incident: Incident, finding: Finding, entry: RegistryEntry, how: str,
                note: str, traffic: Traffic, confidence: float = 1.0) -> None:
    """A known issue is back: link its ticket to the incident and comment on it once."""
    already_linked = any(d.entry_id == entry.entry_id for d in incident.decisions.values())
    known_severity = entry.severity if entry.severity in ALERTING else ""
    asked = incident.decisions.get(finding.fingerprint)  # an AI match: the window it was asked in
    count = asked.window_count if asked is not None and asked.window_count else finding.count
    incident.decisions[finding.fingerprint] = _decision(
        "done" if known_severity else "classifying", count, traffic, severity=known_severity,
        entry_id=entry.entry_id)
    data = {"entry_id": entry.entry_id, "match": how, "confidence": confidence,
            "fingerprint": finding.fingerprint, "ticket": entry.jira_ticket_id}
    step.event("registry_matched", incident, data)
    step.note(incident, f"known issue: {finding.what} ({how} match)")
    if not incident.ticket_requested:
        # The known issue's ticket becomes the incident's ticket: no second ticket.
        incident.ticket_requested = True
        incident.ticket_label = entry.ticket_label
    if entry.jira_ticket_id and entry.jira_ticket_id not in incident.tickets:
        incident.tickets.append(entry.jira_ticket_id)
    if not already_linked and entry.ticket_label:
        body = note or (f"Seen again at {utc(step.now)} in incident {incident.incident_id}: "
                        f"{finding.count} occurrence(s); {entry.occurrences} window(s) in total.")
        step.outbox("ticket_comment", f"Reappeared: {finding.what} on {entry.service}", body,
                    incident, labels=[entry.ticket_label],
                    fields={"ticket": entry.jira_ticket_id, "entry_id": entry.entry_id})
        step.event("ticket_commented", incident, {"ticket": entry.jira_ticket_id,
                                                  "label": entry.ticket_label, "reason": "reappeared"})
    if known_severity:
        raise_severity(step, incident, known_severity)
    else:
        in_window = finding if count == finding.count else finding.model_copy(update={"count": count})
        step.ask_ai("classify", incident, classify_payload(step, in_window, traffic), finding.fingerprint)


def on_match(step: Step, incident: Incident, fingerprint: str, output: dict[str, Any]) -> None:
    finding = incident.findings.get(fingerprint)
    if finding is None:
        return
    match = MatchOutput.model_validate(output)
    asked = incident.decisions.get(fingerprint)
    traffic = _traffic_of(asked) if asked is not None else Traffic()  # the window it was settled in
    entry = step.state.registry.get(match.entry_id) if match.entry_id else None
    if entry is None:  # no match, or a candidate that expired meanwhile
        _classify(step, incident, finding, traffic)
        return
    registry.touch(entry, step.now)
    _reappeared(step, incident, finding, entry, "ai", note=match.note, traffic=traffic, confidence=match.confidence)


def on_classify(step: Step, incident: Incident, fingerprint: str, output: dict[str, Any]) -> None:
    finding = incident.findings.get(fingerprint)
    if finding is None:
        return
    result = ClassifyOutput.model_validate(output)
    decision = incident.decisions.get(fingerprint) or FindingDecision(stage="classifying")
    # Impact is evidence a classification cannot argue away: it sets the floor.
    result = result.model_copy(update={"severity": higher_severity(result.severity, decision.floor)})
    decision.stage, decision.severity = "done", result.severity
    decision.category, decision.probable_cause = result.category, result.probable_cause
    incident.decisions[fingerprint] = decision
    # The finding the incident is titled after goes without its name (every message's
    # title says it); another one is named.
    named = "" if incident.title == f"{finding.what} on {incident.service}" else f" {finding.what}"
    step.note(incident, f"classified{named}: {result.severity} {result.category}")
    entry = step.state.registry.get(decision.entry_id) if decision.entry_id else None
    if entry is not None:
        # A known one-off (P4) that came back now carries its real severity.
        entry.severity = higher_severity(entry.severity, result.severity)
    else:
        _new_issue(step, incident, finding, result)
    raise_severity(step, incident, result.severity)
    if result.summary is not None:
        on_summary(step, incident, result.summary.model_dump(mode="json"))
    fixes.after_classify(step, incident, finding, result.runbook, result.params)


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
    impact = incident.decisions[finding.fingerprint].impact
    body = (f"{result.severity} {result.category}: {finding.what}"
            + (f"\nImpact: {impact.rstrip('.')}." if impact else "")
            + (f"\nProbable cause: {result.probable_cause}" if result.probable_cause else "")
            + (f"\nSample:\n{finding.samples[0]}" if finding.samples else ""))
    if first_ticket:
        joined = [f.what for fp, f in sorted(incident.findings.items())
                  if (d := incident.decisions.get(fp)) is not None and d.category == ONEOFF_JOINED]
        if joined:
            body += ("\nOne-off errors seen while this incident was open joined it instead of getting a ticket "
                     "of their own: " + "; ".join(joined))
        message = step.outbox("ticket_create", incident.title, body, incident,
                              severity=result.severity, labels=[incident.ticket_label])
        state.pending_tickets[message.key] = incident.ticket_label
        step.note(incident, "ticket requested")
    else:
        step.outbox("ticket_comment", f"New finding: {finding.what}"[:200], body, incident,
                    labels=[incident.ticket_label])
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "new_finding",
                                                  "fingerprint": finding.fingerprint})


def raise_severity(step: Step, incident: Incident, severity: str) -> None:
    new = higher_severity(incident.severity, severity)
    if new == incident.severity:
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


def _local_severity(step: Step, incident: Incident) -> str:
    """The incident's severity as decided so far, the built-in classification standing in
    for every finding the AI has not decided yet, with the counts the AI is asked with
    (else the first page could say P2 where the classification says P3)."""
    severity = incident.severity
    for fingerprint, finding in sorted(incident.findings.items()):
        decided = incident.decisions.get(fingerprint)
        if decided is not None:
            severity = higher_severity(severity, decided.floor)
        if decided is not None and decided.severity:
            severity = higher_severity(severity, decided.severity)
            continue
        output = fallback_output("classify", classify_payload(step, finding), step.state.service)
        severity = higher_severity(severity, output["severity"])
    return severity


def maybe_first_alert(step: Step, incident: Incident) -> None:
    """The first page, as soon as the incident opens: built-in severity and text, never
    waiting on a model. The AI's summary edits the same message when it arrives
    (`on_summary`); its classification may raise the severity, which re-alerts."""
    if incident.alerted or incident.status != "open":
        return
    incident.severity = _local_severity(step, incident)
    if incident.severity not in ALERTING:
        return
    narrative = narrative_input(incident, step.now, step.state.clean_streak).model_dump(mode="json")
    text = narrate_locally("summary", NarrativeInput.model_validate(narrative))
    incident.summary_text = text.text
    step.outbox("alert", text.title, text.text, incident)
    step.event("update_posted", incident, {"kind": "alert", "text": "built-in"})
    step.note(incident, f"first alert sent ({incident.severity}, built-in text)")
    incident.alerted = True
    incident.alerted_severity = incident.severity
    incident.last_notification_at = step.now
    step.ask_summary(incident, narrative)


def on_summary(step: Step, incident: Incident, output: dict[str, Any]) -> None:
    """The AI's first summary: edits the first alert in place (Slack chat.update, Telegram
    editMessageText, a comment on the ticket), saying so. A state from before the first
    page went out at once still waits for it to send the first alert."""
    if incident.status != "open":
        return
    text = NarrativeOutput.model_validate(output)
    if not incident.alerted:
        incident.summary_text = text.text
        step.outbox("alert", text.title, text.text, incident)
        step.event("update_posted", incident, {"kind": "alert"})
        step.note(incident, f"first alert sent ({incident.severity})")
        incident.alerted = True
        incident.alerted_severity = incident.severity
        incident.last_notification_at = step.now
        return
    if text.text == incident.summary_text:
        return
    incident.summary_text = text.text
    step.outbox("alert_edit", text.title, f"{text.text}\n\n{EDIT_NOTE}", incident)
    step.event("update_posted", incident, {"kind": "summary_edit"})
    step.note(incident, "first alert edited: AI summary")
    if incident.ticket_label:
        step.outbox("ticket_comment", f"AI summary: {incident.title}", text.text, incident,
                    labels=[incident.ticket_label])
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "summary"})
