"""Registry of known issues of one service: exact lookup, AI match candidates, expiry.

Entries are keyed by (endpoint, error_type); a finding with neither falls back to its
fingerprint so unrelated anonymous errors never collapse into one entry. Functions here
change the registry dict they are given and return what changed (`expired_data` is the
`registry_expired` event's data, see schemas/contract.py); they never emit effects and
never read a clock.
"""

from __future__ import annotations

import hashlib
from typing import Any

from agents.incidents.state import RegistryEntry, ServiceState
from schemas.ai_tasks import RegistryCandidate
from schemas.records import Finding

__all__ = [
    "add_entry",
    "entry_id_for",
    "expire_entries",
    "expired_data",
    "lookup",
    "match_candidates",
    "oneoff_label",
    "touch",
]


def entry_id_for(finding: Finding) -> str:
    error_type = finding.error_type or finding.fingerprint
    return f"{finding.service}|{finding.endpoint}|{error_type}"


def oneoff_label(fingerprint: str) -> str:
    # Jira labels cannot hold spaces or colons; a short hash keeps them valid and stable.
    return "lw-oneoff-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:12]


def lookup(state: ServiceState, finding: Finding) -> RegistryEntry | None:
    return state.registry.get(entry_id_for(finding))


def touch(entry: RegistryEntry, now: float) -> None:
    entry.last_seen = max(entry.last_seen, now)
    entry.occurrences += 1


def match_candidates(state: ServiceState, limit: int) -> list[RegistryCandidate]:
    """The most recently seen entries, newest first (ties broken by id for determinism)."""
    entries = sorted(state.registry.values(), key=lambda e: (-e.last_seen, e.entry_id))[:limit]
    return [RegistryCandidate(entry_id=e.entry_id, endpoint=e.endpoint, error_type=e.error_type,
                              template=e.template, summary=e.summary,
                              jira_ticket_id=e.jira_ticket_id) for e in entries]


def add_entry(state: ServiceState, finding: Finding, now: float, severity: str, ticket_label: str,
              summary: str, max_entries: int) -> tuple[RegistryEntry, list[RegistryEntry]]:
    """Insert (or refresh) the entry of `finding`; returns it and the entries evicted for room."""
    entry_id = entry_id_for(finding)
    entry = state.registry.get(entry_id)
    if entry is None:
        entry = RegistryEntry(entry_id=entry_id, service=finding.service, endpoint=finding.endpoint,
                              error_type=finding.error_type or finding.fingerprint,
                              fingerprint=finding.fingerprint, template=finding.template,
                              severity=severity, summary=summary, ticket_label=ticket_label,
                              first_seen=now, last_seen=now)
        state.registry[entry_id] = entry
    else:
        touch(entry, now)
        entry.severity = severity or entry.severity
        entry.ticket_label = entry.ticket_label or ticket_label
    evicted: list[RegistryEntry] = []
    while len(state.registry) > max_entries:
        oldest = min(state.registry.values(), key=lambda e: (e.last_seen, e.entry_id))
        evicted.append(state.registry.pop(oldest.entry_id))
    return entry, evicted


def expire_entries(state: ServiceState, now: float, ttl_s: float) -> list[RegistryEntry]:
    """Delete entries whose last_seen is older than ttl_s; returns them in id order."""
    expired = sorted((e for e in state.registry.values() if now - e.last_seen > ttl_s),
                     key=lambda e: e.entry_id)
    for entry in expired:
        del state.registry[entry.entry_id]
    return expired


def expired_data(entry: RegistryEntry, reason: str) -> dict[str, Any]:
    """`data` of the `registry_expired` event of `entry` (reason: "ttl" or "capacity")."""
    return {"entry_id": entry.entry_id, "last_seen": entry.last_seen, "ticket": entry.jira_ticket_id,
            "reason": reason}
