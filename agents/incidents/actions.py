"""People's actions on an incident (`incidents.actions`): acknowledge, note, resolve by hand, close.

Each one is an `incidents.events` event, a timeline entry, and where the incident has a
ticket a comment on it. Acknowledging stops further pages to on-call (the messages of an
acknowledged incident skip PagerDuty, `Step.outbox`; PagerDuty itself is told to
acknowledge when it was paged); channel updates go on. Closing archives the incident:
the lifecycle's shell does that when `on_action` returns the closed incident. Pure:
never reads a clock, never does I/O.
"""

from __future__ import annotations

from agents.incidents import resolution
from agents.incidents.effects import Step
from agents.incidents.state import Incident
from schemas.records import IncidentAction

__all__ = ["on_action"]

_TEXT_MAX = 2000


def on_action(step: Step, action: IncidentAction) -> Incident | None:
    """Apply a person's action; returns the incident when it was closed (to be archived)."""
    incident = step.state.incident
    if incident is None or incident.incident_id != action.incident_id:
        return None  # closed already, or not this service's current incident: nothing to change
    actor = action.actor or "unknown"
    text = action.text[:_TEXT_MAX]
    if action.action == "acknowledge":
        _acknowledge(step, incident, actor, action.via)
    elif action.action == "note":
        step.event("note_added", incident, {"actor": actor, "via": action.via, "text": text})
        step.note(incident, f"note by {actor}: {text}")
        _comment(step, incident, f"Note by {actor}", text, "note")
    elif action.action == "resolve":
        if incident.status != "open":
            return None
        resolution.resolve(step, incident, by=actor, text=f"resolved by hand by {actor}" + (f": {text}" if text else ""))
    else:
        step.event("closed", incident, {"actor": actor, "via": action.via, "text": text})
        step.note(incident, f"closed by {actor}" + (f": {text}" if text else ""))
        _comment(step, incident, f"Closed by {actor}",
                 f"Incident {incident.incident_id} was closed by {actor}; it will not reopen." + (
                     f"\n{text}" if text else ""), "closed")
        return incident
    return None


def _acknowledge(step: Step, incident: Incident, actor: str, via: str) -> None:
    if incident.acknowledged_by:
        return  # acknowledged once is enough: the first one stays on record
    body = f"{actor} acknowledged incident {incident.incident_id}; on-call is not paged again for it."
    paged = incident.escalated or incident.alerted_severity == "P1"
    if paged:
        # Severity P1 routes it where the pages went: PagerDuty takes it as an acknowledge.
        step.outbox("update", f"Acknowledged by {actor}: {incident.title}"[:200], body, incident, severity="P1",
                    fields={"pagerduty_action": "acknowledge", "actor": actor})
    elif incident.alerted:
        step.outbox("update", f"Acknowledged by {actor}: {incident.title}"[:200], body, incident,
                    fields={"actor": actor})
    incident.acknowledged_by, incident.acknowledged_at = actor, step.now
    step.event("acknowledged", incident, {"actor": actor, "via": via})
    step.note(incident, f"acknowledged by {actor}")
    _comment(step, incident, f"Acknowledged by {actor}", body, "acknowledged")


def _comment(step: Step, incident: Incident, title: str, body: str, reason: str) -> None:
    if not incident.ticket_label:
        return
    step.outbox("ticket_comment", f"{title}: {incident.title}"[:200], body, incident, labels=[incident.ticket_label])
    step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": reason})
