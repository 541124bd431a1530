"""The later half of an incident: updates, resolution, report, review, reopening.

Resolution is decided on event time; the report, the ticket resolution and the
resolved messages follow when the AI report (or its built-in fallback) arrives. A
review may propose a runbook from the allowlist, only ever as an approval request
(`fixes.propose`): nothing here executes anything.
"""

from __future__ import annotations

from typing import Any

from agents.incidents import fixes
from agents.incidents.decisions import ALERTING
from agents.incidents.effects import Step, WriteReport
from agents.incidents.narrative import narrative_input, render_report, report_filename
from agents.incidents.state import Incident
from agents.local_ai.narrative import narrate_locally, utc
from schemas.ai_tasks import NarrativeOutput, ReviewInput, ReviewOutput

__all__ = ["maybe_resolve", "on_report", "on_review", "on_update", "post_due_update", "reopen", "resolve",
           "review_input"]


def _has_pending(step: Step, incident: Incident, task: str) -> bool:
    return any(p.task == task and p.incident_id == incident.incident_id for p in step.state.pending.values())


def post_due_update(step: Step) -> None:
    incident = step.state.incident
    if incident is None or incident.status != "open" or not incident.alerted:
        return
    if step.now - incident.last_notification_at < step.cfg.update_interval_s or _has_pending(step, incident, "update"):
        return
    # The timer restarts when the update is asked for, so a slow AI never doubles updates.
    incident.last_notification_at = step.now
    payload = narrative_input(incident, step.now, step.state.clean_streak).model_dump(mode="json")
    step.ask_ai("update", incident, payload)


def on_update(step: Step, incident: Incident, output: dict[str, Any]) -> None:
    if incident.status != "open":
        return
    text = NarrativeOutput.model_validate(output)
    step.outbox("update", text.title, text.text, incident)
    step.event("update_posted", incident, {"kind": "update"})
    step.note(incident, "update posted")


def maybe_resolve(step: Step) -> None:
    state, incident = step.state, step.state.incident
    if incident is None or incident.status != "open":
        return
    if incident.firing:
        return
    # An incident made only of alerts and checks ends when their sources say so: such a
    # service may ship no logs at all, so no clean window would ever come to resolve it.
    external_only = all(f.kind in ("alert", "check") for f in incident.findings.values())
    if state.clean_streak < step.cfg.resolve_after and not external_only:
        return
    if fixes.verifying(state, incident):
        return  # the fix's own verification window says whether it is over (fixes.tick)
    resolve(step, incident, "logwarden", f"resolved after {state.clean_streak} clean windows in a row")


def resolve(step: Step, incident: Incident, by: str, text: str) -> None:
    """Resolve the open incident (by logwarden, a verified fix's runbook or a person) and ask for its report."""
    state = step.state
    incident.status, incident.resolved_at = "resolved", step.now
    incident.resolved_clean_windows = state.clean_streak
    state.resolved_total += 1
    state.last_time_to_resolve_s = step.now - incident.opened_at
    if state.counters is not None:
        state.counters.resolved.append(incident.incident_id)
    data = {"clean_windows": state.clean_streak, "duration_s": step.now - incident.opened_at, "by": by,
            "text": text}
    step.event("resolved", incident, data)
    step.note(incident, text)
    payload = narrative_input(incident, step.now, state.clean_streak).model_dump(mode="json")
    step.ask_ai("report", incident, payload)


def on_report(step: Step, incident: Incident, output: dict[str, Any]) -> None:
    if incident.status != "resolved" or incident.report_written:
        return
    report = NarrativeOutput.model_validate(output)
    incident.report_text = report.text
    incident.report_written = True
    if incident.ticket_label:
        step.outbox("ticket_comment", f"Resolution report: {incident.title}", report.text, incident,
                    labels=[incident.ticket_label])
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "report"})
        # The tracker posts what it is given as a comment before resolving: the report is
        # the comment just made, not said a second time.
        step.outbox("ticket_resolve", f"Resolved: {incident.title}",
                    f"Resolved {utc(incident.resolved_at or step.now)}; the resolution report is the "
                    f"comment before this one.", incident, labels=[incident.ticket_label])
        step.event("ticket_resolved", incident, {"label": incident.ticket_label, "tickets": incident.tickets})
    step.outbox("resolved", f"Resolved: {incident.title}", report.text, incident)
    step.note(incident, "resolution report written")
    step.effects.append(WriteReport(report_filename(incident), render_report(incident)))
    step.ask_ai("review", incident, review_input(step, incident).model_dump(mode="json"))


def review_input(step: Step, incident: Incident) -> ReviewInput:
    """What the review of a resolved incident is asked about: its report, tickets and the allowlist."""
    related = sorted({e.jira_ticket_id for e in step.state.registry.values() if e.jira_ticket_id})
    return ReviewInput(service=incident.service, incident_id=incident.incident_id, report=incident.report_text,
                       tickets=list(incident.tickets), related_tickets=related[:20],
                       runbooks=list(step.cfg.runbooks))


def on_review(step: Step, incident: Incident, output: dict[str, Any]) -> None:
    review = ReviewOutput.model_validate(output)
    # Model output is data: a runbook outside the allowlist is reported, never proposed.
    allowed = bool(review.fix_needed and review.runbook and review.runbook in step.cfg.runbooks
                   and review.runbook in step.cfg.runbook_specs)
    step.event("review_posted", incident, {
        "fix_needed": review.fix_needed, "runbook": review.runbook or "", "runbook_allowed": allowed,
        "related_tickets": review.related_tickets, "rationale": review.rationale})
    if incident.ticket_label and review.related_tickets:
        step.outbox("ticket_comment", f"Review: {incident.title}",
                    f"Related tickets: {', '.join(review.related_tickets)}\n{review.rationale}",
                    incident, labels=[incident.ticket_label])
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "review"})
    if not allowed:
        return
    fixes.propose(step, incident, review.runbook or "", origin="review",
                  why=f"post-resolution review: {review.rationale}"[:500])


def reopen(step: Step, incident: Incident) -> None:
    for request_id in [rid for rid, p in step.state.pending.items()
                       if p.incident_id == incident.incident_id and p.task in ("report", "review")]:
        del step.state.pending[request_id]
    incident.status, incident.resolved_at = "open", None
    incident.reopen_count += 1
    incident.report_written, incident.report_text = False, ""
    step.event("reopened", incident, {"reopen_count": incident.reopen_count})
    step.note(incident, "reopened by a recurrence")
    if incident.severity in ALERTING:
        text = narrate_locally("summary", narrative_input(incident, step.now, 0))
        step.outbox("alert", f"Reopened: {incident.title}", text.text, incident)
        incident.alerted, incident.last_notification_at = True, step.now
    if incident.ticket_label:
        step.outbox("ticket_comment", f"Reopened: {incident.title}",
                    f"The issue came back; incident {incident.incident_id} is open again.",
                    incident, labels=[incident.ticket_label])
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "reopened"})
