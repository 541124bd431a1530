"""Read side of one service's state: incident and registry views, and metrics.

Answers `GET /incidents`, `GET /incidents/{id}`, `logwarden incidents list|show` and
`logwarden registry list` from the worker that owns the service. Read-only: never
changes the state it is given and never includes anything that is not already in it.
"""

from __future__ import annotations

from typing import Any

from agents.incidents.state import Incident, ServiceState

__all__ = ["find_incident", "fixes_view", "incident_metrics", "incident_view", "registry_view"]


def _incident_dict(incident: Incident, detail: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "incident_id": incident.incident_id, "service": incident.service, "status": incident.status,
        "title": incident.title, "severity": incident.severity, "opened_at": incident.opened_at,
        "resolved_at": incident.resolved_at, "tickets": list(incident.tickets),
        "findings": len(incident.findings), "reopen_count": incident.reopen_count,
        "firing": sorted(incident.firing),
        "acknowledged_by": incident.acknowledged_by,
    }
    if detail:
        out["findings"] = [f.model_dump(mode="json") for f in
                           sorted(incident.findings.values(), key=lambda f: (f.first_seen, f.fingerprint))]
        out["timeline"] = list(incident.timeline)
        out["summary"] = incident.summary_text
        out["report"] = incident.report_text
    return out


def fixes_view(state: ServiceState, incident_id: str) -> list[dict[str, Any]]:
    """The incident's fix proposals, oldest first (what the console and `incidents show` list)."""
    fixes = [f for f in state.fixes.values() if f.incident_id == incident_id]
    return [f.model_dump(mode="json") for f in sorted(fixes, key=lambda f: (f.proposed_at, f.approval_id))]


def incident_view(state: ServiceState) -> dict[str, Any]:
    """The service's current incident (if any) and its recently closed ones, newest first."""
    return {
        "service": state.service,
        "clean_streak": state.clean_streak,
        "incident": _incident_dict(state.incident, detail=False) if state.incident else None,
        "closed": [s.model_dump(mode="json") for s in reversed(state.closed)],
    }


def find_incident(state: ServiceState, incident_id: str) -> dict[str, Any] | None:
    """Full detail of the current incident, or the summary of a closed one; None if unknown."""
    if state.incident is not None and state.incident.incident_id == incident_id:
        return {**_incident_dict(state.incident, detail=True), "fixes": fixes_view(state, incident_id)}
    for summary in state.closed:
        if summary.incident_id == incident_id:
            return {**summary.model_dump(mode="json"), "service": state.service, "status": "closed"}
    return None


def registry_view(state: ServiceState) -> list[dict[str, Any]]:
    entries = sorted(state.registry.values(), key=lambda e: (-e.last_seen, e.entry_id))
    return [e.model_dump(mode="json") for e in entries]


def incident_metrics(state: ServiceState) -> dict[str, Any]:
    return {
        "incidents_open": 1 if state.incident is not None and state.incident.status == "open" else 0,
        "incidents_opened_total": state.opened_total,
        "incidents_resolved_total": state.resolved_total,
        "last_time_to_resolve_s": state.last_time_to_resolve_s,
        "registry_entries": len(state.registry),
        "ai_requests_pending": len(state.pending),
    }
