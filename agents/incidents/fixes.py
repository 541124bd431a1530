"""Fixes a person approves: proposal, decisions, the executor's reports, verification, escalation.

The reducer's half of ops/APPROVALS.md. A proposal names an allowlisted runbook with
parameters taken from the incident (`agents.runbooks.params`), never from log or model
text; it is an `Approval(requested)`, an `approval_request` message and a `fix_proposed`
event, nothing more. Only an accepted approval becomes a `FixOrder` for the executor
stage; its report starts a verification in event time, and a fix that did not work is
escalated to on-call. Never runs anything, never reads a clock, never does I/O.
"""

from __future__ import annotations

import math
from typing import Any

from agents.incidents.effects import Publish, Step
from agents.incidents.state import FixProposal, Incident, ServiceState
from agents.local_ai.classify import incident_kind
from agents.local_ai.narrative import utc
from agents.runbooks.catalog import SAFE_VALUE, RunbookSpec
from agents.runbooks.params import ParamsRefused, decide_params
from schemas.records import Approval, Finding, FixOrder

__all__ = ["after_classify", "escalate", "holds", "in_flight", "on_approval", "propose", "tick", "verifying"]

_FIXES_KEPT = 20  # proposals kept per service (settled ones go first)
_OUTPUT_MAX = 4096
_WINDOW_S = 60.0
# A window summary may come a little after a clock tick of the same time: the verdict
# waits one window past the verification window, so the last window still counts.
_VERDICT_GRACE_S = 60.0
_IN_FLIGHT = ("pending", "approved", "running", "verifying")
# Why a decision on a proposal in this status changes nothing.
_REFUSALS = {"approved": "already_decided", "running": "already_decided", "verifying": "already_decided",
             "verified": "already_decided", "failed": "already_decided", "escalated": "already_decided",
             "expired": "expired", "withdrawn": "not_pending"}


def in_flight(state: ServiceState, incident_id: str) -> FixProposal | None:
    """The incident's proposal that is not settled yet (at most one)."""
    return next((f for f in state.fixes.values() if f.incident_id == incident_id and f.status in _IN_FLIGHT), None)


def verifying(state: ServiceState, incident: Incident) -> bool:
    """A fix of the incident ran and its verification window decides the resolution."""
    return any(f.incident_id == incident.incident_id and f.status == "verifying" for f in state.fixes.values())


def holds(state: ServiceState, incident: Incident) -> bool:
    """Keep the incident (do not archive it) while a person may still decide or a run is verified."""
    return any(f.incident_id == incident.incident_id and f.status in ("pending", "verifying")
               for f in state.fixes.values())


# --- proposing ---------------------------------------------------------------------


def after_classify(step: Step, incident: Incident, finding: Finding, runbook: str | None,
                   suggested: dict[str, str] | None) -> None:
    """A finding was classified while the incident is open: the classification's runbook,
    else the built-in rules' (the finding's kind in a runbook's `propose_for`)."""
    if incident.status != "open" or not step.cfg.runbook_specs:
        return
    if in_flight(step.state, incident.incident_id) is not None:
        return
    tried = {f.runbook for f in step.state.fixes.values() if f.incident_id == incident.incident_id}
    if runbook:
        if runbook not in tried:
            propose(step, incident, runbook, suggested, why="the classification named this runbook")
        return
    kind = incident_kind(finding)
    if not kind:
        return
    for name, spec in step.cfg.runbook_specs.items():
        if kind in spec.propose_for and name not in tried:
            propose(step, incident, name, why=f"built-in rule: {finding.label} looks like {kind.replace('_', ' ')}")
            return


def propose(step: Step, incident: Incident, runbook: str, suggested: dict[str, Any] | None = None,
            origin: str = "open", why: str = "") -> FixProposal | None:
    """Request a person's approval for `runbook`, or refuse with a timeline note."""
    spec = step.cfg.runbook_specs.get(runbook) if runbook in step.cfg.runbooks else None
    if spec is None:
        # The name came from a model: it is not repeated anywhere.
        step.note(incident, "fix not proposed: a runbook outside the allowlist was named")
        return None
    if in_flight(step.state, incident.incident_id) is not None:
        return None
    if any(f.incident_id == incident.incident_id and f.runbook == runbook for f in step.state.fixes.values()):
        # Already proposed for this incident (decided, run, verified or failed): the review
        # after a verified fix must not ask for the same fix again.
        step.note(incident, f"fix not proposed again: {runbook} was already proposed for this incident")
        return None
    suggested = dict(suggested or {})
    if any(not SAFE_VALUE.match(str(k)) or not SAFE_VALUE.match(str(v)) for k, v in suggested.items()):
        step.note(incident, f"fix not proposed: {runbook}: a suggested parameter is not a plain token")
        return None
    try:
        params = decide_params(spec, service=incident.service, host="", suggested=suggested)
    except ParamsRefused as exc:
        step.note(incident, f"fix not proposed: {exc}")
        return None
    state = step.state
    incident.fix_seq += 1
    approval_id = f"{incident.incident_id}:fix:{incident.fix_seq}"
    expires_at = step.now + step.cfg.proposal_ttl_s
    fix = FixProposal(approval_id=approval_id, incident_id=incident.incident_id, runbook=runbook, params=params,
                      command=spec.argv(params), dry_run=not spec.real,
                      origin="review" if origin == "review" else "open", proposed_at=step.now,
                      expires_at=expires_at)
    state.fixes[approval_id] = fix
    state.approvals[approval_id] = incident.incident_id
    _trim(state)
    argv = spec.argv(params)
    request = Approval(approval_id=approval_id, incident_id=incident.incident_id, service=incident.service,
                       action="requested", runbook=runbook, params=params, actor="logwarden", via="reducer",
                       dry_run=fix.dry_run, at=step.now,
                       detail={"rationale": why, "expires_at": expires_at, "argv": argv, "origin": fix.origin})
    step.effects.append(Publish("approvals", state.service, request))
    step.event("fix_proposed", incident, {"approval_id": approval_id, "runbook": runbook, "params": params,
                                          "expires_at": expires_at, "dry_run": fix.dry_run, "argv": argv,
                                          "origin": fix.origin, "why": why})
    title, body = _request_text(incident, fix, spec, argv, why)
    step.outbox("approval_request", title, body, incident, fields={
        "approval_id": approval_id, "incident_id": incident.incident_id, "runbook": runbook,
        "service": incident.service, "command": " ".join(argv), "dry_run": "true" if fix.dry_run else "false",
        "expires_at": str(int(expires_at))})
    step.note(incident, f"fix proposed: {runbook} ({approval_id}), waiting for a person")
    return fix


def _request_text(incident: Incident, fix: FixProposal, spec: RunbookSpec, argv: list[str],
                  why: str) -> tuple[str, str]:
    mode = "dry run" if fix.dry_run else "REAL run"
    # Channels put "APPROVAL NEEDED <service>:" before it: say what would run, for what.
    title = f"{fix.runbook} ({mode}) for {incident.title or 'the open incident'}"[:200]
    if fix.dry_run:
        what_happens = "Dry run: the executor only writes down the command it would run; nothing changes."
    else:
        what_happens = ("REAL run: the command changes the system (if the executor allows real runs; "
                        "otherwise it is a dry run).")
    lines = [
        f"Incident {incident.incident_id} ({incident.severity or 'severity not known yet'}): {incident.title}",
        f"Proposed runbook: {fix.runbook}" + (f" - {spec.summary}" if spec.summary else ""),
        f"It will run (no shell): {' '.join(argv)}",
        f"For service: {incident.service}",
        what_happens,
    ]
    if why:
        lines.append(f"Why: {why}")
    lines += [
        f"Nothing runs until a person approves. The proposal expires at {utc(fix.expires_at)} if nobody decides.",
        f"Approve or escalate: the links of this message, or `logwarden approve {fix.approval_id}` / "
        f"`logwarden escalate {fix.approval_id} --reason \"...\"`.",
    ]
    return title, "\n".join(lines)


def _trim(state: ServiceState) -> None:
    excess = len(state.fixes) - _FIXES_KEPT
    if excess <= 0:
        return
    settled = [k for k, f in state.fixes.items() if f.status not in _IN_FLIGHT]
    for key in (settled + [k for k in state.fixes if k not in settled])[:excess]:
        del state.fixes[key]
        state.approvals.pop(key, None)


# --- decisions and the executor's reports --------------------------------------------


def on_approval(step: Step, approval: Approval) -> None:
    if approval.action in ("requested", "expired"):
        return  # our own request read back, or an old record nobody writes any more
    fix = step.state.fixes.get(approval.approval_id)
    if fix is None or fix.incident_id != approval.incident_id:
        if (approval.action in ("approve", "escalate")
                and any(c.incident_id == approval.incident_id for c in step.state.closed)):
            _refuse(step, approval, None, "incident_closed")
        return
    incident = _incident_of(step, fix)
    if approval.action in ("approve", "escalate"):
        _decide(step, approval, fix, incident)
    elif approval.action == "started":
        _started(step, approval, fix, incident)
    else:
        _executed(step, approval, fix, incident)


def _incident_of(step: Step, fix: FixProposal) -> Incident | None:
    incident = step.state.incident
    return incident if incident is not None and incident.incident_id == fix.incident_id else None


def _refuse(step: Step, approval: Approval, incident: Incident | None, reason: str) -> None:
    step.event("approval_refused", incident, {"approval_id": approval.approval_id, "actor": approval.actor,
                                              "reason": reason, "action": approval.action, "via": approval.via},
               incident_id=approval.incident_id)
    if incident is not None:
        step.note(incident, f"{approval.action} of {approval.approval_id} by {approval.actor or 'unknown'} "
                            f"refused: {reason}")


def _decide(step: Step, approval: Approval, fix: FixProposal, incident: Incident | None) -> None:
    cfg = step.cfg
    if cfg.approvers and approval.actor not in cfg.approvers:
        _refuse(step, approval, incident, "not_an_approver")
        return
    if incident is None:
        _refuse(step, approval, None, "incident_closed")
        return
    _settle_timers(step, fix, incident)
    if fix.status != "pending":
        _refuse(step, approval, incident, _REFUSALS.get(fix.status, "not_pending"))
        return
    if approval.action == "escalate":
        fix.status = "escalated"
        escalate(step, incident, fix, approval.actor, approval.via,
                 approval.reason or f"{approval.actor or 'a person'} escalated instead of running {fix.runbook}")
        return
    if approval.actor in fix.approved_by:
        _refuse(step, approval, incident, "same_approver")
        return
    needed = 2 if cfg.second_approver_for_p1 and incident.severity == "P1" else 1
    fix.approved_by.append(approval.actor)
    step.event("fix_approved", incident, {"approval_id": fix.approval_id, "runbook": fix.runbook,
                                          "actor": approval.actor, "via": approval.via,
                                          "approvals": len(fix.approved_by), "needed": needed})
    step.note(incident, f"fix {fix.runbook} approved by {approval.actor} ({len(fix.approved_by)}/{needed})")
    if len(fix.approved_by) < needed:
        return
    fix.status = "approved"
    order = FixOrder(approval_id=fix.approval_id, incident_id=fix.incident_id, service=step.state.service,
                     runbook=fix.runbook, params=dict(fix.params), approved_by=list(fix.approved_by),
                     dry_run=fix.dry_run, at=step.now)
    step.effects.append(Publish("fixes.orders", step.state.service, order))
    _comment(step, incident, f"Fix approved: {fix.runbook}",
             f"{', '.join(fix.approved_by)} approved {fix.runbook} ({'dry run' if fix.dry_run else 'real run'}); "
             f"the executor runs it once.", "fix")


def _started(step: Step, approval: Approval, fix: FixProposal, incident: Incident | None) -> None:
    if fix.status != "approved":
        return
    fix.status = "running"
    step.event("fix_started", incident, {"approval_id": fix.approval_id, "runbook": fix.runbook,
                                         "dry_run": approval.dry_run}, incident_id=fix.incident_id)
    if incident is not None:
        step.note(incident, f"fix {fix.runbook} started{' (dry run)' if approval.dry_run else ''}")


def _executed(step: Step, approval: Approval, fix: FixProposal, incident: Incident | None) -> None:
    if fix.status not in ("approved", "running"):
        return
    status = approval.status or "failed"
    fix.executed_at = step.now
    fix.dry_run = approval.dry_run
    step.event("fix_executed", incident, {
        "approval_id": fix.approval_id, "runbook": fix.runbook, "actor": approval.actor or "executor",
        "status": status, "exit_status": approval.exit_status, "dry_run": approval.dry_run,
        "output": approval.output[:_OUTPUT_MAX]}, incident_id=fix.incident_id)
    if incident is not None:
        step.note(incident, f"fix {fix.runbook} ran: {status}{' (dry run)' if approval.dry_run else ''}")
        _comment(step, incident, f"Fix ran: {fix.runbook}",
                 f"{fix.runbook} ended {status}" + (f" (exit {approval.exit_status})"
                                                    if approval.exit_status is not None else "")
                 + (" as a dry run" if approval.dry_run else "") + ".", "fix")
    if status != "ok":
        fix.status = "escalated"
        if incident is not None:
            escalate(step, incident, fix, "logwarden", "reducer", f"the run of {fix.runbook} ended {status}")
        return
    window = step.cfg.runbook_specs[fix.runbook].verify_window_s if fix.runbook in step.cfg.runbook_specs else 300.0
    fix.status = "verifying"
    fix.verify_from = math.ceil(step.now / _WINDOW_S) * _WINDOW_S
    fix.verify_until = fix.verify_from + window


# --- time: expiry, withdrawal, verification ------------------------------------------


def tick(step: Step) -> None:
    """What falls due after every input: proposals expire or are withdrawn, verifications end."""
    for fix in sorted(step.state.fixes.values(), key=lambda f: (f.proposed_at, f.approval_id)):
        incident = _incident_of(step, fix)
        if fix.status == "pending":
            _settle_timers(step, fix, incident)
        elif fix.status == "verifying":
            _watch(step, fix, incident)


def _settle_timers(step: Step, fix: FixProposal, incident: Incident | None) -> None:
    if fix.status != "pending":
        return
    if incident is None:
        fix.status = "withdrawn"  # archived or closed: nothing runs for an incident that is over
    elif fix.origin == "open" and incident.status != "open":
        fix.status = "withdrawn"
        step.note(incident, f"fix proposal {fix.approval_id} withdrawn: the incident resolved")
    elif step.now >= fix.expires_at:
        fix.status = "expired"
        step.event("fix_expired", incident, {"approval_id": fix.approval_id, "runbook": fix.runbook,
                                             "expires_at": fix.expires_at})
        step.note(incident, f"fix proposal {fix.approval_id} expired: nobody decided")


def _watch(step: Step, fix: FixProposal, incident: Incident | None) -> None:
    if fix.verify_from is None or fix.verify_until is None:
        return  # not possible for a verifying fix (set together in `_executed`)
    state = step.state
    if incident is not None:
        # An error window that started at or after the run's first full window (its end
        # is last_issue_at) and before the verification window ends.
        if fix.verify_from + _WINDOW_S <= incident.last_issue_at <= fix.verify_until:
            fix.errors_after_run = True
    elif state.incident is not None and state.incident.opened_at >= fix.verify_from + _WINDOW_S:
        fix.errors_after_run = True  # the errors came back as a new incident
    if step.now < fix.verify_until + _VERDICT_GRACE_S:
        return
    if incident is not None and incident.firing:
        fix.errors_after_run = True  # an alert or check still firing says it is not over
    window = fix.verify_until - fix.verify_from
    data = {"approval_id": fix.approval_id, "runbook": fix.runbook, "verify_window_s": window}
    if fix.errors_after_run:
        fix.status = "failed"
        step.event("fix_failed", incident, data, incident_id=fix.incident_id)
        if incident is not None:
            step.note(incident, f"fix {fix.runbook} failed verification: errors went on after it ran")
            escalate(step, incident, fix, "logwarden", "reducer",
                     f"errors went on within {window:.0f} s after {fix.runbook} ran")
        return
    fix.status = "verified"
    step.event("fix_verified", incident, data, incident_id=fix.incident_id)
    if incident is not None and incident.status == "open":
        # resolution proposes fixes (the review) with this module: imported here, not at the top.
        from agents.incidents import resolution

        if fix.dry_run:  # it changed nothing: the errors stopped, but not because of it
            resolution.resolve(step, incident, by="logwarden",
                               text=f"the errors stopped after a dry run of {fix.runbook}, which changed nothing")
        else:
            resolution.resolve(step, incident, by=fix.runbook, text=f"fixed by {fix.runbook}")


# --- escalation ----------------------------------------------------------------------


# Escalation raises the ticket's priority one step (P1 stays P1).
_RAISED = {"": "P2", "P4": "P3", "P3": "P2", "P2": "P1", "P1": "P1"}


def escalate(step: Step, incident: Incident, fix: FixProposal | None, actor: str, via: str, reason: str) -> None:
    """Raise the ticket's priority with a comment, page on-call, and record who and why."""
    runbook = fix.runbook if fix is not None else ""
    reason = reason[:500]
    step.event("fix_escalated", incident, {"approval_id": fix.approval_id if fix else "", "runbook": runbook,
                                           "actor": actor, "via": via, "reason": reason})
    step.note(incident, f"escalated by {actor}: {reason}")
    incident.escalated = True
    priority = _RAISED.get(incident.severity, "P1")
    body = (f"Escalated by {actor}: {reason}\n"
            f"Incident {incident.incident_id} on {incident.service} ({incident.severity or 'P?'}): {incident.title}"
            + (f"\nProposed fix: {runbook} ({fix.approval_id}), not run or not enough." if fix else ""))
    fields = {"reason": reason, "actor": actor, "escalated": "true"}
    if fix is not None:
        fields["approval_id"] = fix.approval_id
    if incident.ticket_label:
        step.outbox("ticket_comment", f"Escalated: {incident.title}"[:200], body, incident,
                    labels=[incident.ticket_label], fields={**fields, "priority": priority, "priority_raised": "true"})
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "escalated",
                                                  "priority": priority})
    # Severity P1 is what the routing pages on-call for (PagerDuty trigger), whatever the
    # incident's own severity; an acknowledged incident's page skips PagerDuty (Step.outbox).
    step.outbox("alert", f"Escalated to on-call: {incident.title}"[:200], body, incident, severity="P1",
                fields=fields)
    if incident.severity != "P1":
        step.outbox("update", f"Escalated: {incident.title}"[:200], body, incident, fields=fields)


def _comment(step: Step, incident: Incident, title: str, body: str, reason: str) -> None:
    if not incident.ticket_label:
        return
    step.outbox("ticket_comment", f"{title}: {incident.title}"[:200], body, incident, labels=[incident.ticket_label])
    step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": reason})
