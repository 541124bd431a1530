"""Read models folded from the public `incidents.events` topic.

The CLI reads incidents and the registry this way, so it needs no worker and shows
exactly what any other subscriber of the topic would see. Reads the topic up to its end
as of the call, without a consumer group; never writes.
"""

from __future__ import annotations

from typing import Any, Iterable

from schemas.records import IncidentEvent
from streams.kafka.reader import read_topic

__all__ = ["fold_incidents", "fold_registry", "incidents_from_events", "registry_from_events"]


def incidents_from_events(events: Iterable[IncidentEvent]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for ev in events:
        if not ev.incident_id or ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        inc = out.setdefault(ev.incident_id, {
            "incident_id": ev.incident_id, "service": ev.service, "status": "open",
            "severity": ev.severity, "title": ev.title, "opened_at": ev.at, "resolved_at": None,
            "tickets": [], "events": [],
        })
        inc["events"].append({"at": ev.at, "type": ev.type, "title": ev.title})
        if ev.severity:
            inc["severity"] = ev.severity
        if ev.title and ev.type in ("opened", "reopened", "severity_changed"):
            inc["title"] = ev.title
        if ev.type == "resolved":
            inc["status"], inc["resolved_at"] = "resolved", ev.at
        elif ev.type == "reopened":
            inc["status"], inc["resolved_at"] = "open", None
        ticket = ev.data.get("ticket") or ev.data.get("jira_ticket_id")
        if ticket and ticket not in inc["tickets"]:
            inc["tickets"].append(ticket)
    return out


def registry_from_events(events: Iterable[IncidentEvent]) -> list[dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for ev in events:
        entry_id = ev.data.get("entry_id")
        if not entry_id:
            continue
        if ev.type == "registry_expired":
            entries.pop(entry_id, None)
        elif ev.type in ("registry_added", "registry_matched"):
            entry = dict(entries.get(entry_id, {"entry_id": entry_id, "service": ev.service}))
            entry["last_seen"] = ev.at
            for k in ("endpoint", "error_type", "jira_ticket_id"):
                if ev.data.get(k):
                    entry[k] = ev.data[k]
            entries[entry_id] = entry
        elif ev.type == "ticket_created" and ev.data.get("entry_id") in entries:
            entries[entry_id] = dict(entries[entry_id], jira_ticket_id=ev.data.get("ticket", ""))
    return sorted(entries.values(), key=lambda e: e["entry_id"])


async def _events(broker: str) -> list[IncidentEvent]:
    events = []
    async for _p, _o, _k, value in read_topic(broker, "incidents.events", to_end=True):
        try:
            events.append(IncidentEvent.model_validate_json(value))
        except ValueError:
            continue
    events.sort(key=lambda e: (e.at, e.event_id))
    return events


async def fold_incidents(broker: str) -> dict[str, dict[str, Any]]:
    return incidents_from_events(await _events(broker))


async def fold_registry(broker: str) -> list[dict[str, Any]]:
    return registry_from_events(await _events(broker))
