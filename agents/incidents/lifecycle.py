"""The incident state machine of one service: `apply(state, event, now, cfg) -> (state, effects)`.

Inputs are window summaries, fatal lines sent ahead of their window (`FatalSignal`: the
incident opens and pages at once; the window's summary, when it comes, replaces the
provisional count of that finding), alerts, host checks, AI results, delivery receipts,
approvals (`fixes.py`), people's actions (`actions.py`) and clock ticks (time passing,
so AI timeouts and updates fire when due, not when the service's next window comes);
outputs are records to publish and reports to write. Time is the event time
passed in (see `event_time`), never the wall clock, so a replay makes the same
decisions with the same ids, and a redelivered input makes none. The input state is
never mutated. Never imports Faust or does I/O.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Callable

from pydantic import ValidationError

from agents.incidents import actions, decisions, fixes, registry, resolution
from agents.incidents.config import IncidentsConfig
from agents.incidents.digest import DIGEST_TOPIC, DigestPart
from agents.incidents.effects import Effect, Publish, Step
from agents.incidents.external import alert_finding, check_finding
from agents.incidents.impact import WindowVolume, impact_floor
from agents.incidents.narrative import narrative_input
from agents.incidents.state import (
    ONEOFF_JOINED,
    FindingDecision,
    HourCounters,
    Incident,
    IncidentSummary,
    PendingRequest,
    ProvisionalCount,
    ServiceState,
)
from agents.local_ai import fallback_output
from agents.local_ai.narrative import utc
from schemas.ai_tasks import MatchInput
from schemas.records import (
    AIAudit,
    AIResult,
    Alert,
    Approval,
    CheckResult,
    Clock,
    FatalSignal,
    Finding,
    IncidentAction,
    Receipt,
    WindowSummary,
)

__all__ = ["EXPIRED_BY", "InputEvent", "apply", "event_time"]

EXPIRED_BY = "incidents"  # the provider of the audit record of a request the reducer stopped waiting for

InputEvent = WindowSummary | FatalSignal | Alert | CheckResult | AIResult | Receipt | Approval | IncidentAction | Clock

_PENDING_TICKETS_KEPT = 200


def event_time(event: InputEvent) -> float:
    """The event time the reducer runs on for this input."""
    if isinstance(event, WindowSummary):
        return event.window_end
    if isinstance(event, FatalSignal):
        return event.at  # the fatal line's own event time
    if isinstance(event, Alert):
        return event.received_at or event.starts_at or 0.0
    return event.at


def _dedupe_key(event: InputEvent) -> str | None:
    if isinstance(event, WindowSummary):
        # "w:<window start>|<version>": the service is the state's own. The whole id made
        # the guard, rewritten to the changelog with every window, twice as long: a fifth
        # of a replay's time went to writing it (ops/bench/README.md, replay).
        service, sep, rest = event.id.partition("|")
        return f"w:{rest}" if sep and service == event.service else f"w:{event.id}"
    if isinstance(event, FatalSignal):  # one per fingerprint and window, whichever partition sent it
        return f"u:{event.id}"
    if isinstance(event, Alert):
        return f"a:{event.id}"
    if isinstance(event, CheckResult):
        return f"c:{event.id}"
    if isinstance(event, Receipt):
        return f"r:{event.key}:{event.status}"
    if isinstance(event, Approval):
        if event.action in ("approve", "escalate"):  # one per decision: a second approver counts
            return f"p:{event.approval_id}:{event.action}:{event.decision_id or event.actor}"
        return f"p:{event.approval_id}:{event.action}"
    if isinstance(event, IncidentAction):
        return f"h:{event.action_id}"
    return None  # AI results are deduplicated by their pending request


def apply(state: ServiceState | None, event: InputEvent, now: float,
          cfg: IncidentsConfig, *, copy: bool = True) -> tuple[ServiceState, list[Effect]]:
    """The state after `event`, and its effects. `copy=False`: the caller hands `state`
    over (it was read for this call alone) and it is changed in place."""
    if isinstance(event, Clock) and (state is None or now - state.clock > cfg.clock_max_lead_s):
        # Nothing to time, or a service far behind the clock (replaying history): its
        # own records' time rules it.
        return state if state is not None else ServiceState(service=event.service), []
    if state is None:
        state = ServiceState(service=event.service)
    elif copy:
        # Never the caller's state: a dump and validation is a deep copy four times
        # faster than `model_copy(deep=True)` on a 75 KB state (ops/bench/state_writes.py).
        state = ServiceState.model_validate(state.model_dump())
    key = _dedupe_key(event)
    if key is not None:
        if key in state.seen_ids or (isinstance(event, WindowSummary) and f"w:{event.id}" in state.seen_ids):
            # (the second form: a window seen before the guard's keys were shortened)
            return state, []
        if isinstance(event, WindowSummary) and event.service == event.id.partition("|")[0]:
            # A window is guarded by the latest start taken, not by its id: one float, where
            # 512 ids rewritten to the changelog with every window took a quarter of a
            # replay's time (ops/bench/README.md, replay).
            version = str(event.version)
            through = state.windows_through.get(version)
            if through is not None and event.window_start <= through:
                return state, []
            state.windows_through[version] = event.window_start
        else:
            state.seen_ids = (state.seen_ids + [key])[-cfg.dedupe_ids_kept:]
    # Timers never run backwards, even when a late record carries an older time.
    state.clock = max(now, state.clock)
    step = Step(state, state.clock, cfg)
    if state.registry_cleaned_at is None:
        state.registry_cleaned_at = step.now
    _HANDLERS[type(event)](step, event)
    _expire_pending(step)
    fixes.tick(step)
    resolution.post_due_update(step)
    _cleanup_registry(step)
    _archive_resolved(step)
    _trim_pending_tickets(state)
    return state, step.effects


# --- windows, alerts, checks -------------------------------------------------------


def _on_window(step: Step, window: WindowSummary) -> None:
    state = step.state
    counters = _roll_digest(step, window.window_start)
    incident = state.incident
    real: list[Finding] = []
    oneoffs: list[Finding] = []
    volume = WindowVolume(errors=window.errors, lines=window.lines, routes=window.routes)
    for finding in window.findings:
        (oneoffs if _is_oneoff(step, finding, incident, volume) else real).append(finding)
    if incident is not None and incident.provisional:
        _replace_provisional(incident, window)
    joins = incident if incident is not None and incident.status == "open" else None
    for finding in oneoffs:
        if joins is not None:
            _join_oneoff(step, joins, finding)
        else:
            _ticket_oneoff(step, finding)
    for finding in window.findings:
        state.fingerprints_seen[finding.fingerprint] = window.window_start
    if len(state.fingerprints_seen) > step.cfg.fingerprints_kept:
        newest = sorted(state.fingerprints_seen.items(), key=lambda kv: (-kv[1], kv[0]))
        state.fingerprints_seen = dict(sorted(newest[:step.cfg.fingerprints_kept]))
    if real:
        counters.error_windows += 1
        _on_errors(step, real, window.window_start, volume, counts_window=True)
        return
    if window.status == "silent":
        counters.silent_windows += 1
    else:
        counters.clean_windows += 1
    # Silent windows count as clean: resolution must not stall when logs stop.
    state.clean_streak += 1
    state.all_clear_counter += 1
    resolution.maybe_resolve(step)


def _replace_provisional(incident: Incident, window: WindowSummary) -> None:
    """The window of a finding counted ahead has closed: its count stands in for the
    provisional one (merged next, as any finding is), so nothing is counted twice."""
    in_window = {f.fingerprint for f in window.findings}
    for fingerprint, provisional in sorted(incident.provisional.items()):
        if provisional.window_start > window.window_start:
            continue  # a later window's
        del incident.provisional[fingerprint]
        known = incident.findings.get(fingerprint)
        if provisional.window_start == window.window_start and fingerprint in in_window and known is not None:
            known.count = max(0, known.count - provisional.count)


def _on_fatal(step: Step, signal: FatalSignal) -> None:
    """A fatal line, ahead of its window: the incident opens (or goes on) and pages now,
    and the finding is provisional until its window's summary replaces its count."""
    finding = signal.finding
    if step.state.fingerprints_seen.get(finding.fingerprint, -math.inf) >= signal.window_start:
        return  # its window was summarised already (the summary came first): counted there
    incident = step.state.incident
    if incident is not None and finding.fingerprint in incident.provisional:
        return  # counted ahead in an earlier window still open: that window's summary counts this one
    incident = _on_errors(step, [finding], signal.window_start, WindowVolume(), counts_window=False, fast_path=True)
    incident.provisional[finding.fingerprint] = ProvisionalCount(window_start=signal.window_start,
                                                                 count=finding.count)


def _is_oneoff(step: Step, finding: Finding, incident: Incident | None, volume: WindowVolume) -> bool:
    cfg, state = step.cfg, step.state
    return (finding.kind == "log" and finding.count <= cfg.oneoff_max_count
            and finding.level in cfg.oneoff_levels
            and finding.fingerprint not in state.fingerprints_seen
            and registry.lookup(state, finding) is None
            # A crash or a fatal line is never a one-off: one line of it means a process died;
            # nor is one error line of a write route whose requests fail (access logs).
            and impact_floor(finding, volume.traffic(finding), cfg.severity).severity != "P1"
            and not (incident is not None and finding.fingerprint in incident.findings))


def _ticket_oneoff(step: Step, finding: Finding) -> None:
    """Silent low-priority ticket, no alert: the registry entry makes it once per issue."""
    label = registry.oneoff_label(finding.fingerprint)
    entry, evicted = registry.add_entry(step.state, finding, step.now, "P4", label, "",
                                        step.cfg.registry_max_entries)
    what = finding.what
    # The line itself only when it says more than its label ("unexpected coupon format"
    # twice in a row was the body of the demo's one-off ticket).
    sample = finding.samples[0].strip() if finding.samples else ""
    body = (f"Seen once on {finding.service} at {utc(finding.first_seen or step.now)}: {what}.\n"
            "Not seen before and not part of an incident: nobody was paged. This ticket keeps it on record; "
            "if it comes back, the incident it opens continues this ticket."
            + (f"\nLine:\n{sample}" if sample and sample != what.strip() else ""))
    message = step.outbox("oneoff_ticket", f"One-off: {what} on {finding.service}"[:200], body,
                          severity="P4", labels=[label], fields={"fingerprint": finding.fingerprint})
    step.state.pending_tickets[message.key] = label
    data = {"fingerprint": finding.fingerprint, "entry_id": entry.entry_id, "label": label}
    step.event("oneoff_ticketed", None, data)
    step.event("registry_added", None, data)
    for old in evicted:
        step.event("registry_expired", None, registry.expired_data(old, "capacity"))
    if step.state.counters is not None:
        step.state.counters.oneoffs.append(finding.fingerprint)


def _join_oneoff(step: Step, incident: Incident, finding: Finding) -> None:
    """A one-off seen while an incident of the service is open joins it as a finding: no
    ticket of its own (it is most likely part of what is going on), a comment on the
    incident's ticket, and a registry entry pointing at that ticket so a return is known.
    It does not keep the incident open: a window of one-offs only still counts as clean."""
    _merge_finding(step, incident, finding)
    entry, evicted = registry.add_entry(step.state, finding, step.now, "P4",
                                        incident.ticket_label or incident.incident_id, "",
                                        step.cfg.registry_max_entries)
    incident.decisions[finding.fingerprint] = FindingDecision(stage="done", severity="P4", entry_id=entry.entry_id,
                                                              category=ONEOFF_JOINED)
    step.note(incident, f"one-off joined the open incident (no ticket of its own): {finding.what}")
    step.event("registry_added", incident, {"entry_id": entry.entry_id, "fingerprint": finding.fingerprint,
                                            "label": entry.ticket_label, "oneoff": True})
    for old in evicted:
        step.event("registry_expired", None, registry.expired_data(old, "capacity"))
    # No ticket asked for yet (its classification is still out): the ticket, when it is
    # created, lists the one-offs that joined (`decisions._new_issue`).
    if incident.ticket_label:
        body = (f"A one-off error, seen once on {finding.service} while this incident was open, joined it "
                f"as a finding instead of getting a ticket of its own: {finding.what}"
                + (f"\n{finding.samples[0]}" if finding.samples else ""))
        step.outbox("ticket_comment", f"One-off joined: {finding.what}"[:200], body, incident,
                    labels=[incident.ticket_label])
        step.event("ticket_commented", incident, {"label": incident.ticket_label, "reason": "new_finding",
                                                  "fingerprint": finding.fingerprint})


def _on_errors(step: Step, findings: list[Finding], window_start: float, volume: WindowVolume,
               counts_window: bool, fast_path: bool = False) -> Incident:
    state = step.state
    incident = state.incident
    if incident is not None and incident.status == "resolved":
        if step.now - (incident.resolved_at or 0.0) <= step.cfg.reopen_window_s:
            resolution.reopen(step, incident)
        else:
            _archive(state, incident, step.cfg)
            incident = None
    if incident is None:
        incident = _open(step, findings, window_start, fast_path)
    state.clean_streak = 0
    incident.last_issue_at = step.now
    if counts_window:
        incident.windows_with_errors += 1
    for finding in findings:
        _merge_finding(step, incident, finding)
        decisions.settle_finding(step, incident, finding, volume)
    decisions.maybe_first_alert(step, incident)
    return incident


def _open(step: Step, findings: list[Finding], window_start: float, fast_path: bool = False) -> Incident:
    state = step.state
    state.incident_counter += 1
    stamp = datetime.fromtimestamp(window_start, tz=timezone.utc).strftime("%Y%m%dT%H%MZ")
    incident_id = f"{state.service}-{stamp}-{state.incident_counter}"
    lead = max(findings, key=lambda f: (f.level in ("fatal", "critical"), f.count, f.fingerprint))
    title = f"{lead.what} on {state.service}"
    incident = Incident(incident_id=incident_id, service=state.service, title=title,
                        opened_at=step.now, last_issue_at=step.now)
    state.incident = incident
    state.opened_total += 1
    if state.counters is not None:
        state.counters.opened.append(incident_id)
    data = {"window_start": window_start, "fingerprints": sorted(f.fingerprint for f in findings)}
    if fast_path:
        data["fast_path"] = True
    step.event("opened", incident, data)
    step.note(incident, "incident opened from a fatal line, before its window closed" if fast_path
              else "incident opened")
    return incident


def _merge_finding(step: Step, incident: Incident, finding: Finding) -> None:
    known = incident.findings.get(finding.fingerprint)
    if known is None:
        incident.findings[finding.fingerprint] = finding.model_copy(update={"samples": finding.samples[:3]})
        step.event("finding_added", incident, {
            "fingerprint": finding.fingerprint, "kind": finding.kind, "endpoint": finding.endpoint,
            "error_type": finding.error_type, "level": finding.level, "count": finding.count})
        step.note(incident, f"new finding: {finding.what}")
        return
    known.count += finding.count
    known.last_seen = max(known.last_seen, finding.last_seen)
    known.status = finding.status
    for sample in finding.samples:
        if len(known.samples) < 3 and sample not in known.samples:
            known.samples.append(sample)


def _on_alert(step: Step, alert: Alert) -> None:
    finding = alert_finding(alert, step.now)
    opens = alert.severity != "info" or step.cfg.alert_info_opens
    _on_external(step, finding, alert.status == "firing" and opens, alert.status == "resolved")


def _on_check(step: Step, check: CheckResult) -> None:
    finding = check_finding(check)
    fails = check.status == "fail" or (check.status == "warn" and step.cfg.check_warn_opens)
    _on_external(step, finding, fails, _check_recovered(step, finding.fingerprint, check))
    incident = step.state.incident
    if check.id.startswith("asked|") and incident is not None and incident.status == "open":
        step.note(incident, _asked_probe_line(check))


def _asked_probe_line(check: CheckResult) -> str:
    """"asked the model's probe queue_depth: 1,204 jobs (warning at 1,000 jobs, critical at 5,000 jobs)"."""
    name = check.check.removeprefix("probe:")
    if not check.metrics:  # not run, failed or timed out: the checks stage's reason
        return f"asked the model's probe {name}: no value ({check.message})"
    values = [(metric, _with_unit(value, check.units.get(metric, ""))) for metric, value in check.metrics.items()]
    shown = values[0][1] if len(values) == 1 else ", ".join(f"{m} {v}" for m, v in values[:5])
    unit = check.units.get(values[0][0], "") if len(set(check.units.values())) <= 1 else ""
    band = [f"{label} at {_with_unit(limit, unit)}" for label, limit in
            (("warning", check.warning_threshold), ("critical", check.critical_threshold)) if limit is not None]
    return f"asked the model's probe {name}: {shown}" + (f" ({', '.join(band)})" if band else "")


def _with_unit(value: float, unit: str) -> str:
    number = f"{int(value):,}" if value == int(value) else f"{value:,.2f}".rstrip("0")
    return number + (unit if unit in ("", "%") else f" {unit}")


def _check_recovered(step: Step, fingerprint: str, check: CheckResult) -> bool:
    """Hysteresis: a firing check resolves on its `recover_after`-th ok result in a row;
    any other result starts the count again."""
    incident = step.state.incident
    oks = incident.check_oks.pop(fingerprint, 0) + 1 if incident is not None else 1
    if check.status != "ok":
        return False
    if incident is None or fingerprint not in incident.firing:
        return True
    if oks < check.recover_after:
        incident.check_oks[fingerprint] = oks
        return False
    return True


def _on_external(step: Step, finding: Finding, firing: bool, resolved: bool) -> None:
    """Alerts and checks: a firing one keeps the incident open until its source resolves it."""
    if firing:
        window_start = math.floor(step.now / 60.0) * 60.0
        incident = _on_errors(step, [finding], window_start, WindowVolume(), counts_window=False)
        incident.firing[finding.fingerprint] = finding.source
        return
    incident = step.state.incident
    if resolved and incident is not None and finding.fingerprint in incident.firing:
        del incident.firing[finding.fingerprint]
        if finding.fingerprint in incident.findings:
            incident.findings[finding.fingerprint].status = "resolved"
        step.note(incident, f"{finding.what} resolved by {finding.source}")
        resolution.maybe_resolve(step)


# --- answers: AI results, receipts, approvals --------------------------------------


def _on_ai_result(step: Step, result: AIResult) -> None:
    pending = step.state.pending.pop(result.request_id, None)
    if pending is None:  # redelivered, or answered late after the built-in decision
        return
    output = result.output
    if result.provider == "local" and pending.task == "classify":
        # Built-in words (the local provider's, or a model's fallback): the first alert
        # already says them, redacted or not, so they edit nothing.
        output = {k: v for k, v in output.items() if k != "summary"}
    elif result.provider == "local" and pending.task == "summary":
        incident = step.state.incident
        if incident is not None and incident.alerted:
            return
    _settle_request(step, pending, output)


def _settle_request(step: Step, pending: PendingRequest, output: dict) -> None:
    incident = step.state.incident
    if incident is None or incident.incident_id != pending.incident_id:
        return
    try:
        _RESULT_HANDLERS[pending.task](step, incident, pending.fingerprint, output)
    except ValidationError:
        # The AI agent validates, but the reducer must not trust a shape it cannot check.
        _decide_locally(step, incident, pending)


def _decide_locally(step: Step, incident: Incident, pending: PendingRequest) -> None:
    """The built-in decision: the no-AI answer (the local provider's) to the request, asked again."""
    output = fallback_output(pending.task, _payload_again(step, incident, pending), incident.service)
    _RESULT_HANDLERS[pending.task](step, incident, pending.fingerprint, output)


def _payload_again(step: Step, incident: Incident, pending: PendingRequest) -> dict:
    """The request's payload rebuilt from the state (the state keeps no payloads)."""
    if pending.task == "classify":
        return decisions.classify_payload(step, incident.findings[pending.fingerprint])
    if pending.task == "match":
        candidates = registry.match_candidates(step.state, step.cfg.registry_match_candidates)
        return MatchInput(service=step.state.service, finding=incident.findings[pending.fingerprint],
                          candidates=candidates).model_dump(mode="json")
    if pending.task == "review":
        return resolution.review_input(step, incident).model_dump(mode="json")
    return narrative_input(incident, step.now, step.state.clean_streak).model_dump(mode="json")


def _expire_pending(step: Step) -> None:
    expired = sorted(rid for rid, p in step.state.pending.items() if step.now - p.asked_at >= step.cfg.ai_timeout_s)
    for request_id in expired:
        pending = step.state.pending.pop(request_id, None)
        if pending is None:
            continue
        # Said on ai.audit whatever follows: whether an answer came in time is a race with
        # the clock that a replay cannot run again, so it reads the outcome from here.
        step.effects.append(Publish("ai.audit", request_id, AIAudit(
            request_id=request_id, task=pending.task, provider=EXPIRED_BY, outcome="expired", fallback=True,
            fallback_reason=f"no answer within {step.cfg.ai_timeout_s:g} s of event time", at=step.now)))
        incident = step.state.incident
        if incident is None or incident.incident_id != pending.incident_id:
            continue
        if pending.task in ("classify", "match") and pending.fingerprint not in incident.findings:
            continue
        if pending.task == "summary" and incident.alerted:
            step.note(incident, "no AI summary in time: the first alert keeps its built-in text")
            continue
        step.note(incident, f"no AI answer for {pending.task} in time: built-in decision")
        _decide_locally(step, incident, pending)


def _on_receipt(step: Step, receipt: Receipt) -> None:
    state = step.state
    if receipt.status != "delivered" or receipt.key not in state.pending_tickets:
        return
    label = state.pending_tickets.pop(receipt.key)
    ticket = receipt.external_ref
    for entry in state.registry.values():
        if entry.ticket_label == label:
            entry.jira_ticket_id = ticket
    incident = state.incident if state.incident and state.incident.ticket_label == label else None
    if incident is not None and ticket and ticket not in incident.tickets:
        incident.tickets.append(ticket)
        step.note(incident, f"ticket {ticket} created")
    # Stamped with the time of the decision it answers (the outbox record's), not the
    # clock: how many windows the reducer read before the tracker answered is a matter
    # of delivery speed, and a replay of the same input must give the same event.
    step.event("ticket_created", incident, {"ticket": ticket, "label": label, "kind": receipt.kind},
               at=receipt.at or None)


def _on_action(step: Step, action: IncidentAction) -> None:
    """A person's action (`actions.py`); a closed incident is archived and never reopens."""
    closed = actions.on_action(step, action)
    if closed is not None:
        _archive(step.state, closed, step.cfg)
        if step.state.closed and step.state.closed[-1].incident_id == closed.incident_id:
            step.state.closed[-1].closed_by = action.actor


# --- housekeeping ------------------------------------------------------------------


def _roll_digest(step: Step, window_start: float) -> HourCounters:
    """Send the finished period's counters as a DigestPart and start a new period."""
    state, interval = step.state, step.cfg.digest_interval_s
    period = math.floor(window_start / interval) * interval
    counters = state.counters
    if counters is not None and period > counters.period_start:
        open_id = state.incident.incident_id if state.incident and state.incident.status == "open" else ""
        part = DigestPart(service=state.service, period_end=counters.period_start + interval,
                          open_incident=open_id, **counters.model_dump())
        step.effects.append(Publish(DIGEST_TOPIC, "digest", part))
        state.all_clear_counter = 0
        counters = None
    if counters is None:
        counters = state.counters = HourCounters(period_start=period)
    return counters


def _cleanup_registry(step: Step) -> None:
    state = step.state
    if step.now - (state.registry_cleaned_at or step.now) < step.cfg.registry_cleanup_interval_s:
        return
    state.registry_cleaned_at = step.now
    for entry in registry.expire_entries(state, step.now, step.cfg.registry_ttl_s):
        step.event("registry_expired", None, registry.expired_data(entry, "ttl"))
    horizon = step.now - step.cfg.registry_ttl_s
    state.fingerprints_seen = {fp: t for fp, t in state.fingerprints_seen.items() if t >= horizon}


def _archive_resolved(step: Step) -> None:
    incident = step.state.incident
    if incident is None or incident.status != "resolved":
        return
    if step.now - (incident.resolved_at or 0.0) <= step.cfg.reopen_window_s:
        return
    if any(p.incident_id == incident.incident_id for p in step.state.pending.values()):
        return
    if fixes.holds(step.state, incident):  # a person may still decide, or a run is being verified
        return
    _archive(step.state, incident, step.cfg)


def _archive(state: ServiceState, incident: Incident, cfg: IncidentsConfig) -> None:
    """Clear the incident, keeping a summary for the read side."""
    summary = IncidentSummary(incident_id=incident.incident_id, title=incident.title, severity=incident.severity,
                              opened_at=incident.opened_at, resolved_at=incident.resolved_at,
                              tickets=list(incident.tickets), findings=len(incident.findings),
                              reopen_count=incident.reopen_count)
    state.closed = (state.closed + [summary])[-cfg.closed_incidents_kept:] if cfg.closed_incidents_kept else []
    state.pending = {rid: p for rid, p in state.pending.items() if p.incident_id != incident.incident_id}
    state.incident = None


def _trim_pending_tickets(state: ServiceState) -> None:
    # Receipts that never come (failed deliveries) must not grow the state forever.
    while len(state.pending_tickets) > _PENDING_TICKETS_KEPT:
        del state.pending_tickets[next(iter(state.pending_tickets))]


def _on_clock(step: Step, clock: Clock) -> None:
    """Time passed: what is due (AI timeouts, updates, archiving) runs after every input."""


_HANDLERS: dict[type, Callable[[Step, object], None]] = {
    AIResult: _on_ai_result,
    Alert: _on_alert,
    Approval: fixes.on_approval,
    IncidentAction: _on_action,
    CheckResult: _on_check,
    Clock: _on_clock,
    FatalSignal: _on_fatal,
    Receipt: _on_receipt,
    WindowSummary: _on_window,
}

_RESULT_HANDLERS: dict[str, Callable[[Step, Incident, str, dict], None]] = {
    "classify": decisions.on_classify,
    "match": decisions.on_match,
    "report": lambda step, incident, _fp, output: resolution.on_report(step, incident, output),
    "review": lambda step, incident, _fp, output: resolution.on_review(step, incident, output),
    "summary": lambda step, incident, _fp, output: decisions.on_summary(step, incident, output),
    "update": lambda step, incident, _fp, output: resolution.on_update(step, incident, output),
}
