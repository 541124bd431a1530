"""A realistic incident state, built by hand as the incident stage would have left it."""

from __future__ import annotations

from agents.incidents.state import (FindingDecision, FixProposal, Incident, IncidentSummary, RegistryEntry,
                                   ServiceState)
from schemas.records import Finding

T0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC
FP_OOM = "fp1:3a9c0e12b4d5f6a7b8c9"
FP_TMPL = "fp1:0d1e2f3a4b5c6d7e8f90"
TEMPLATE_ID = "T0123456789"


def service_state(fix: dict | None = None, **incident_extra) -> ServiceState:
    oom = Finding(fingerprint=FP_OOM, service="checkout", endpoint="POST /v1/orders", error_type="MemoryError",
                  template="worker <*> killed: out of memory allocating <*> bytes",
                  title="worker 7 killed: out of memory allocating 1048576 bytes", level="critical", count=12,
                  first_seen=T0 + 60, last_seen=T0 + 170, samples=["worker 7 killed: out of memory"])
    templ = Finding(fingerprint=FP_TMPL, service="checkout", error_type=TEMPLATE_ID,
                    template="upstream <*> refused connection after <*> ms", title="", count=3,
                    first_seen=T0 + 65, last_seen=T0 + 120)
    incident = Incident(
        incident_id="checkout-20260921T1414Z-1", service="checkout", title="checkout: MemoryError on POST /v1/orders",
        severity="P1", opened_at=T0 + 60, last_issue_at=T0 + 170, windows_with_errors=2,
        findings={FP_OOM: oom, FP_TMPL: templ},
        decisions={FP_OOM: FindingDecision(stage="done", severity="P1", category="resource")},
        timeline=[{"at": T0 + 60, "text": "incident opened"},
                  {"at": T0 + 60, "text": f"new finding {FP_OOM}: MemoryError"},
                  {"at": T0 + 61, "text": f"new finding {FP_TMPL}: upstream <*> refused connection after <*> ms"},
                  {"at": T0 + 62, "text": f"classified {FP_OOM}: P1 resource"},
                  {"at": T0 + 63, "text": f"known issue checkout||{TEMPLATE_ID} (exact match)"},
                  {"at": T0 + 64, "text": "ticket OPS-42 created"}],
        tickets=["OPS-42"], summary_text="Checkout workers run out of memory while creating orders.",
        **incident_extra)
    registry = {f"checkout||{TEMPLATE_ID}": RegistryEntry(
        entry_id=f"checkout||{TEMPLATE_ID}", service="checkout", endpoint="", error_type=TEMPLATE_ID,
        fingerprint=FP_TMPL, template="upstream <*> refused connection after <*> ms", severity="P2",
        jira_ticket_id="OPS-7", first_seen=T0 - 86400, last_seen=T0 + 120, occurrences=4)}
    closed = [IncidentSummary(incident_id="checkout-20260920T0900Z-1", title="checkout: HTTP 503 on GET /v1/cart",
                              severity="P3", opened_at=T0 - 86400, resolved_at=T0 - 86000, tickets=["OPS-5"],
                              findings=1)]
    fixes = {}
    if fix is not None:
        proposal = FixProposal(**{"approval_id": f"{incident.incident_id}:fix:1", "incident_id": incident.incident_id,
                                  "runbook": "restart-service", "params": {"service": "checkout"},
                                  "proposed_at": T0 + 70, "expires_at": T0 + 70 + 3600, **fix})
        fixes[proposal.approval_id] = proposal
    return ServiceState(service="checkout", partition=2, incident=incident, registry=registry, closed=closed,
                        fixes=fixes)

