"""What the console shows, as plain data: incidents, fixes and known issues in people's words.

Built from the incident stage's raw states (the table's JSON values), read defensively:
a field this version does not know is ignored and a missing one has a default, so a
newer or older state never breaks the page. Machine tokens (fingerprints, template ids,
masked templates, registry keys) are replaced by the readable label of what they name.
Pure: no I/O, no clock (`now` is passed in), never changes what it is given.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

__all__ = ["FixView", "console_view", "readable"]

SEVERITY_RANK = {"P1": 4, "P2": 3, "P3": 2, "P4": 1}
TIMELINE_SHOWN = 40
RECENT_SHOWN = 20
REGISTRY_SHOWN = 100

_TEMPLATE_ID = re.compile(r"\bT[0-9a-f]{10}\b")
_LOG_FP = re.compile(r"\bfp\d+:[0-9a-f]+\b")
_OTHER_FP = re.compile(r"\b(?:al|ck)\d+:\S+?(?=:?(?:\s|$))")
_WILDCARD = re.compile(r"(?:<\*>\s*)+")
_PENDING = {"pending", "requested", "proposed", "waiting", "waiting_for_approval"}

FixView = dict[str, Any]


def readable(text: str) -> str:
    """Text with any machine token left in it replaced by an ellipsis."""
    text = _WILDCARD.sub("… ", text or "")
    text = _LOG_FP.sub("…", text)
    text = _OTHER_FP.sub("…", text)
    text = _TEMPLATE_ID.sub("…", text)
    # Runs of spaces shrink; line breaks stay (summaries and reports are written in lines).
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _error_type(raw: str) -> str:
    return "" if not raw or _TEMPLATE_ID.fullmatch(raw) else raw


def _finding_label(f: Mapping[str, Any]) -> str:
    for candidate in (f.get("title"), _error_type(f.get("error_type", "")), f.get("template")):
        text = readable(candidate or "")
        if text and text != "…":
            return text[:200]
    return {"alert": "an alert", "check": "a failing check"}.get(f.get("kind", ""), "an error")


def _machine_label(f: Mapping[str, Any]) -> str:
    """`Finding.label` as the reducer wrote it into timeline notes."""
    et = f.get("error_type", "")
    if et and not _TEMPLATE_ID.fullmatch(et):
        return et
    return (f.get("template") or et or f.get("fingerprint", ""))[:120]


def _finding(f: Mapping[str, Any]) -> dict[str, Any]:
    return {"label": _finding_label(f), "endpoint": f.get("endpoint", ""),
            "error_type": readable(_error_type(f.get("error_type", ""))), "kind": f.get("kind", "log"),
            "level": f.get("level", ""), "count": int(f.get("count") or 0), "status": f.get("status", ""),
            "source": f.get("source", ""), "first_seen": f.get("first_seen"), "last_seen": f.get("last_seen")}


def _registry_label(e: Mapping[str, Any]) -> str:
    what = readable(_error_type(e.get("error_type", ""))) or readable(e.get("template", "")) or "an error"
    return f"{e['endpoint']} — {what}" if e.get("endpoint") else what


class _Humanizer:
    """Rewrites timeline notes: fingerprints and registry keys become what they name."""

    def __init__(self, findings: Iterable[Mapping[str, Any]], registry: Mapping[str, Mapping[str, Any]]):
        self.pairs: list[tuple[str, str]] = []
        for f in findings:
            fp, label = f.get("fingerprint", ""), f"“{_finding_label(f)}”"
            if fp:
                self.pairs += [(f"{fp}: {_machine_label(f)}", label), (fp, label)]
        self.pairs += [(key, f"“{_registry_label(e)}”") for key, e in registry.items() if key]
        self.pairs.sort(key=lambda p: -len(p[0]))

    def __call__(self, text: str) -> str:
        for machine, label in self.pairs:
            if machine in text:
                text = text.replace(machine, label)
        return readable(text)


def _first(mapping: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value not in (None, "", [], {}):
            return value
    return default


def _raw_proposal(incident: Mapping[str, Any], fixes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The incident's pending proposal, else its latest one (the state's `fixes`, by approval id)."""
    iid = incident.get("incident_id")
    mine = [f for f in fixes.values() if isinstance(f, Mapping) and f.get("incident_id") == iid]
    embedded = incident.get("proposal")
    if isinstance(embedded, Mapping):
        mine.append(embedded)
    if not mine:
        return None
    mine.sort(key=lambda f: (str(f.get("status", "pending")) in _PENDING, f.get("proposed_at") or 0))
    return mine[-1]


def _fix(incident: Mapping[str, Any], fixes: Mapping[str, Any], catalog: Any) -> FixView | None:
    p = _raw_proposal(incident, fixes)
    if not p:
        return None
    runbook = str(p.get("runbook", ""))
    params = {str(k): str(v) for k, v in (p.get("params") or {}).items()}
    spec = catalog.get(runbook) if catalog is not None else None
    argv = _first(p, "argv", "command")
    if not argv and spec is not None:
        try:
            argv = spec.argv(params)
        except (KeyError, ValueError):
            argv = []
    status = str(p.get("status") or "pending")
    by = _first(p, "approved_by", "decided_by", "escalated_by", "by", "actor", default=[])
    return {
        "approval_id": str(p.get("approval_id", "")), "runbook": runbook, "params": params,
        "summary": readable(str(_first(p, "summary", default="") or (spec.summary if spec else ""))),
        "argv": [str(a) for a in argv or []], "dry_run": bool(p.get("dry_run", not (spec and spec.real))),
        "status": status, "pending": status in _PENDING, "by": [by] if isinstance(by, str) else list(by),
        "reason": readable(str(p.get("reason", ""))), "proposed_at": _first(p, "proposed_at", "requested_at", "at"),
        "expires_at": p.get("expires_at"), "outcome": str(_first(p, "outcome", "run_status", default="")),
        "origin": str(p.get("origin", "open")), "verify_until": p.get("verify_until"),
    }


def _status(incident: Mapping[str, Any]) -> str:
    if incident.get("status") == "resolved":
        return "resolved"
    return "acknowledged" if _first(incident, "acknowledged", "acknowledged_by", "acknowledged_at") else "open"


def _incident(incident: Mapping[str, Any], registry: Mapping[str, Any], fixes: Mapping[str, Any],
              catalog: Any) -> dict[str, Any]:
    findings = list((incident.get("findings") or {}).values())
    human = _Humanizer(findings, registry)
    findings.sort(key=lambda f: (-(f.get("last_seen") or 0), f.get("fingerprint", "")))
    timeline = list(incident.get("timeline") or [])
    ack_by = _first(incident, "acknowledged_by", default="")
    return {
        "incident_id": incident.get("incident_id", ""), "service": incident.get("service", ""),
        "status": _status(incident), "severity": incident.get("severity") or "",
        "title": human(incident.get("title") or "") or "untitled incident",
        "opened_at": incident.get("opened_at"), "resolved_at": incident.get("resolved_at"),
        "last_issue_at": incident.get("last_issue_at"),
        "acknowledged_by": ack_by if isinstance(ack_by, str) else ", ".join(map(str, ack_by)),
        "acknowledged_at": incident.get("acknowledged_at"),
        "tickets": [str(t) for t in incident.get("tickets") or []],
        "findings": [_finding(f) for f in findings],
        "timeline": [{"at": e.get("at"), "text": human(str(e.get("text", "")))}
                     for e in reversed(timeline[-TIMELINE_SHOWN:]) if isinstance(e, Mapping)],
        "timeline_hidden": max(0, len(timeline) - TIMELINE_SHOWN),
        "summary": readable(incident.get("summary_text") or ""), "report": readable(incident.get("report_text") or ""),
        "reopen_count": int(incident.get("reopen_count") or 0), "fix": _fix(incident, fixes, catalog),
        "escalated": bool(incident.get("escalated")),
    }


def _closed(summary: Mapping[str, Any], service: str) -> dict[str, Any]:
    return {"incident_id": summary.get("incident_id", ""), "service": service, "status": "closed",
            "severity": summary.get("severity") or "",
            "title": readable(summary.get("title") or "") or "untitled incident",
            "opened_at": summary.get("opened_at"), "resolved_at": summary.get("resolved_at"),
            "tickets": [str(t) for t in summary.get("tickets") or []],
            "findings_count": int(summary.get("findings") or 0)}


def _known_issue(e: Mapping[str, Any], service: str) -> dict[str, Any]:
    return {"service": e.get("service", service), "label": _registry_label(e), "severity": e.get("severity", ""),
            "ticket": e.get("jira_ticket_id", ""), "summary": readable(e.get("summary", "")),
            "first_seen": e.get("first_seen"), "last_seen": e.get("last_seen"),
            "occurrences": int(e.get("occurrences") or 0)}


def _rank(item: Mapping[str, Any]) -> tuple:
    return (-SEVERITY_RANK.get(item.get("severity", ""), 0), -(item.get("opened_at") or 0), item.get("incident_id", ""))


def console_view(states: Iterable[Mapping[str, Any]], *, now: float, catalog: Any = None,
                 partitions: Iterable[int] = (), total_partitions: int = 0) -> dict[str, Any]:
    """Everything the page shows, from this worker's states (raw table values)."""
    active, recent, registry = [], [], []
    for state in states:
        service = state.get("service", "")
        entries = state.get("registry") or {}
        current = state.get("incident")
        if isinstance(current, Mapping):
            view = _incident(current, entries, state.get("fixes") or {}, catalog)
            (recent if view["status"] == "resolved" else active).append(view)
        recent += [_closed(s, service) for s in state.get("closed") or [] if isinstance(s, Mapping)]
        registry += [_known_issue(e, service) for e in entries.values() if isinstance(e, Mapping)]
    local = sorted(set(partitions))
    return {
        "generated_at": now,
        "open": len(active),
        "active": sorted(active, key=_rank),
        "recent": sorted(recent, key=lambda i: -(i.get("resolved_at") or i.get("opened_at") or 0))[:RECENT_SHOWN],
        "registry": sorted(registry, key=lambda e: -(e.get("last_seen") or 0))[:REGISTRY_SHOWN],
        "partitions": local, "total_partitions": total_partitions,
        "partial": bool(total_partitions) and len(local) < total_partitions,
    }
