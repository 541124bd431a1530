"""Rules of the incident reducer that scenario files do not show on their own."""

from __future__ import annotations

import re
from pathlib import Path

from agents.incidents.config import IncidentsConfig
from agents.incidents.effects import Publish
from agents.incidents.lifecycle import apply, event_time
from agents.incidents.state import ServiceState
from agents.incidents.views import find_incident, incident_metrics, incident_view, registry_view
from schemas.ai_tasks import TASKS
from schemas.records import (
    AIRequest,
    AIResult,
    Approval,
    CheckResult,
    Finding,
    FixOrder,
    IncidentEvent,
    OutboxMessage,
    Receipt,
    WindowSummary,
)
from tests.unit.incidents.scenario_runner import ScenarioPlayer, load, play

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "incidents"
DATA = Path(__file__).resolve().parents[2] / "data" / "incidents"
T0 = 1772445600.0  # 2026-03-02T10:00:00Z
CFG = IncidentsConfig()


def _window(minute: int, findings: list[Finding] | None = None, service: str = "checkout",
            status: str | None = None) -> WindowSummary:
    start = T0 + minute * 60
    findings = findings or []
    return WindowSummary(id=f"{service}|{start:.0f}|1", service=service, window_start=start, window_end=start + 60,
                         status=status or ("errors" if findings else "clean"), lines=50,
                         errors=sum(f.count for f in findings), findings=findings)


def _finding(fp: str = "fp1:orders-db-timeout", level: str = "error", count: int = 7,
             error_type: str = "TimeoutError", endpoint: str = "GET /orders") -> Finding:
    return Finding(fingerprint=fp, service="checkout", endpoint=endpoint, error_type=error_type,
                   template=f"{error_type}: <*>", level=level, count=count,
                   samples=[(DATA / "python_exc.log").read_text()])


def _feed(state, event, cfg=CFG):
    return apply(state, event, event_time(event), cfg)


def _records(effects, kind):
    return [e.record for e in effects if isinstance(e, Publish) and isinstance(e.record, kind)]


def _answer(request: AIRequest, output: dict) -> AIResult:
    return AIResult(request_id=request.request_id, task=request.task, service=request.service,
                    incident_id=request.incident_id, fingerprint=request.fingerprint, at=request.at, output=output)


CLASSIFY_P2 = {"severity": "P2", "one_off": False, "category": "database", "probable_cause": "slow query",
               "confidence": 0.8}


def test_redelivered_inputs_produce_nothing_new():
    state, effects = _feed(None, _window(0, [_finding()]))
    # The first alert goes out with the opening (built-in text), not after the AI answers.
    assert [e.type for e in _records(effects, IncidentEvent)] == ["opened", "finding_added", "update_posted"]
    again, effects_again = _feed(state, _window(0, [_finding()]))
    assert effects_again == [] and again == state
    (request,) = _records(effects, AIRequest)
    state, effects = _feed(state, _answer(request, CLASSIFY_P2))
    (ticket,) = [m for m in _records(effects, OutboxMessage) if m.kind == "ticket_create"]
    twice, effects_twice = _feed(state, _answer(request, CLASSIFY_P2))
    assert effects_twice == [] and twice.incident.decisions == state.incident.decisions
    receipt = Receipt(key=ticket.key, channel="jira", status="delivered", kind="ticket_create",
                      external_ref="OPS-7", at=ticket.at)
    state, effects = _feed(state, receipt)
    assert [e.type for e in _records(effects, IncidentEvent)] == ["ticket_created"]
    state2, effects2 = _feed(state, receipt)
    assert effects2 == [] and state2.incident.tickets == ["OPS-7"]


def test_a_window_delivered_again_is_ignored_however_long_after_and_whatever_guard_the_state_holds():
    state, effects = _feed(None, _window(0, [_finding()]))
    assert effects
    again, effects_again = _feed(state, _window(0, [_finding()]))
    assert effects_again == [] and again.incident.findings == state.incident.findings
    # The guard of windows is the latest start per summary version, not a list of ids:
    # nothing about windows is added to the list every other input's guard keeps.
    assert state.seen_ids == [] and state.windows_through == {"1": T0}
    # A book that restarts from an old checkpoint sends its windows again: after 600
    # clean windows (more than the 512 ids the guard used to keep) the incident's first
    # window delivered again must not count its 7 errors a second time.
    for minute in range(1, 601):
        state, _ = _feed(state, _window(minute))
    count = sum(f.count for f in state.incident.findings.values()) if state.incident else None
    late, effects_late = _feed(state, _window(0, [_finding()]))
    assert effects_late == []
    assert (sum(f.count for f in late.incident.findings.values()) if late.incident else None) == count
    # States written before: the list held the window as "w:<start>|<version>", and before
    # that as the whole id; either still marks a redelivery.
    for held in (f"w:{T0:.0f}|1", f"w:checkout|{T0:.0f}|1"):
        old = ServiceState(service="checkout", seen_ids=[held])
        _state, effects_old = _feed(old, _window(0, [_finding()]))
        assert effects_old == [], held
    # The same start in a later version is another record, taken.
    later = _window(0, [_finding(count=9)]).model_copy(update={"id": f"checkout|{T0:.0f}|2", "version": 2})
    taken, effects_taken = _feed(state, later)
    assert effects_taken and taken.windows_through == {"1": T0 + 600 * 60, "2": T0}


def test_apply_never_mutates_the_state_it_is_given():
    state, _ = _feed(None, _window(0, [_finding()]))
    before = state.to_json()
    _feed(state, _window(1, [_finding()]))
    _feed(state, _window(1, status="clean"))
    assert state.to_json() == before


def test_replaying_the_same_inputs_gives_identical_effects_and_ids():
    for name in ("p3_updates", "alert_keeps_open", "hourly_digest"):
        scenario = load(SCENARIOS / f"{name}.yaml")
        first, second = play(scenario), play(scenario)
        dump = lambda run: [(e.topic, e.key, e.record.model_dump()) if isinstance(e, Publish) else e
                            for e in run.effects]
        assert dump(first) == dump(second), name
        assert len(set(first.event_ids())) == len(first.event_ids()), "event ids must be unique"


def test_state_rebuilt_from_json_after_every_event_continues_identically():
    for name in ("flapping_reopen", "alert_keeps_open", "ai_timeout", "known_issue_exact"):
        scenario = load(SCENARIOS / f"{name}.yaml")
        plain, restarted = play(scenario), play(scenario, roundtrip=True)
        assert [getattr(e, "record", e) for e in plain.effects] == [getattr(e, "record", e) for e in restarted.effects]
        for service, state in plain.states.items():
            assert ServiceState.from_json(state.to_json()) == state
            assert ServiceState.from_json(state.to_json()).to_json() == state.to_json()


def test_ai_requests_carry_valid_task_inputs_and_only_new_fingerprints_are_classified():
    run = play(load(SCENARIOS / "p3_updates.yaml"))
    requests = run.records(AIRequest)
    for request in requests:
        TASKS[request.task][0].model_validate(request.payload)
    # 21 windows with the same error: one classification, not one per window
    assert sum(r.task == "classify" for r in requests) == 1
    assert len({r.request_id for r in requests}) == len(requests)


def test_late_ai_answer_after_the_builtin_decision_is_ignored():
    state, effects = _feed(None, _window(0, [_finding(level="critical")]))
    (request,) = _records(effects, AIRequest)
    state, effects = _feed(state, _window(1, status="clean"))  # 60 s later: past ai_timeout_s
    (ticket,) = [m for m in _records(effects, OutboxMessage) if m.kind == "ticket_create"]
    assert ticket.severity == "P1"  # critical level, conservative fallback
    late = _answer(request, {**CLASSIFY_P2, "severity": "P3"})
    state2, effects2 = _feed(state, late)
    assert effects2 == [] and state2.incident.severity == "P1"


def test_invalid_ai_output_falls_back_instead_of_crashing():
    state, effects = _feed(None, _window(0, [_finding(level="fatal")]))
    (request,) = _records(effects, AIRequest)
    state, effects = _feed(state, _answer(request, {"severity": "P9", "one_off": "maybe"}))
    assert state.incident.severity == "P1"
    assert [m.kind for m in _records(effects, OutboxMessage)] == ["ticket_create"]


def test_reappearance_comment_targets_the_known_tickets_label_and_key():
    run = play(load(SCENARIOS / "known_issue_exact.yaml"))
    first_ticket = next(r for r in run.records(OutboxMessage) if r.kind == "ticket_create")
    comment = next(r for r in run.records(OutboxMessage)
                   if r.kind == "ticket_comment" and r.incident_id.endswith("-2"))
    assert comment.labels == first_ticket.labels == ["checkout-20260302T1000Z-1"]
    assert comment.fields["ticket"] == "OPS-1"
    assert comment.title.startswith("Reappeared")
    (state,) = run.states.values()
    (entry,) = state.registry.values()
    assert entry.jira_ticket_id == "OPS-1" and entry.occurrences == 2
    assert sum(r.kind == "ticket_create" for r in run.records(OutboxMessage)) == 1


def test_ai_match_comment_carries_the_ai_note():
    run = play(load(SCENARIOS / "ai_match.yaml"))
    comment = next(r for r in run.records(OutboxMessage)
                   if r.kind == "ticket_comment" and r.incident_id.endswith("-2"))
    assert comment.body == "Looks like the orders database timeout again (replica read path)."
    matched = next(r for r in run.records(IncidentEvent) if r.type == "registry_matched")
    assert matched.data["match"] == "ai" and matched.data["ticket"] == "OPS-1"
    assert not any(r.task == "classify" and r.incident_id.endswith("-2") for r in run.records(AIRequest))


def test_oneoff_is_ticketed_once_and_its_return_opens_an_incident_on_the_same_ticket():
    once = _finding(fp="fp1:py-exception-spam", count=1, error_type="Exception", endpoint="")
    state, effects = _feed(None, _window(0, [once]))
    (oneoff,) = _records(effects, OutboxMessage)
    assert oneoff.kind == "oneoff_ticket" and oneoff.severity == "P4" and oneoff.labels[0].startswith("lw-oneoff-")
    # Said once: what it is, when; the line only when it says more than its label.
    assert oneoff.body.startswith(f"Seen once on checkout at 2026-") and once.samples[0].strip() in oneoff.body
    assert "nobody was paged" in oneoff.body
    bare = once.model_copy(update={"fingerprint": "fp1:coupon", "template": "unexpected coupon format",
                                   "error_type": "", "samples": ["unexpected coupon format"]})
    (plain,) = _records(_feed(None, _window(0, [bare]))[1], OutboxMessage)
    assert plain.body.count("unexpected coupon format") == 1, plain.body
    assert not [m for m in _records(effects, OutboxMessage) if m.kind == "alert"]
    assert state.clean_streak == 1  # a one-off window counts as clean
    state, _ = _feed(state, Receipt(key=oneoff.key, channel="jira", status="delivered", kind="oneoff_ticket",
                                    external_ref="OPS-3", at=T0 + 60))
    state, effects = _feed(state, _window(5, [once]))
    kinds = [m.kind for m in _records(effects, OutboxMessage)]
    # The reopening incident pages at once (built-in text) beside the comment on the ticket.
    assert "oneoff_ticket" not in kinds and kinds == ["ticket_comment", "alert"]
    assert [e.type for e in _records(effects, IncidentEvent)][:3] == ["opened", "finding_added", "registry_matched"]
    assert state.incident.tickets == ["OPS-3"]
    assert [r.task for r in _records(effects, AIRequest)] == ["classify"]  # P4 is not a severity to alert on


def test_failing_check_keeps_the_incident_open_until_it_is_ok():
    state, effects = _feed(None, CheckResult(id="disk|fail|1", check="disk", service="checkout", host="db1",
                                             status="fail", value=97.0, threshold=90.0, message="disk 97%", at=T0))
    # The first alert goes out with the opening (built-in text), not after the AI answers.
    assert [e.type for e in _records(effects, IncidentEvent)] == ["opened", "finding_added", "update_posted"]
    for minute in range(1, 9):
        state, effects = _feed(state, _window(minute, status="clean"))
        assert "resolved" not in [e.type for e in _records(effects, IncidentEvent)]
    state, effects = _feed(state, CheckResult(id="disk|ok|2", check="disk", service="checkout", host="db1",
                                              status="ok", at=T0 + 9 * 60 + 30))
    assert [e.type for e in _records(effects, IncidentEvent)] == ["resolved"]


def test_resolution_report_file_has_timeline_findings_tickets_and_ai_report():
    run = play(load(SCENARIOS / "resolution_after_5_clean.yaml"))
    (report,) = run.reports()
    assert re.fullmatch(r"2026-03-02-incident-[a-z0-9-]+\.md", report.filename)
    assert "http-502" in report.filename
    for section in ("## Report", "## Tickets", "## Findings", "## Timeline"):
        assert section in report.content
    assert "The upstream app container was down for 5 minutes." in report.content
    assert "- OPS-1" in report.content
    assert "connect() failed (111: Connection refused)" in report.content  # real sample
    assert "`fp1:nginx-connect-refused`" in report.content


def test_review_runbook_outside_the_allowlist_is_never_proposed():
    scenario = load(SCENARIOS / "resolution_after_5_clean.yaml")
    scenario["ai"]["outputs"]["review"] = {"fix_needed": True, "runbook": "rm-rf-everything", "rationale": "x"}
    run = play(scenario)
    assert run.approvals() == []
    review = next(r for r in run.records(IncidentEvent) if r.type == "review_posted")
    assert review.data["runbook_allowed"] is False
    assert "fix_proposed" not in [r.type for r in run.records(IncidentEvent)]


def test_approval_decisions_become_events_only_for_proposed_fixes():
    player = ScenarioPlayer(load(SCENARIOS / "resolution_after_5_clean.yaml"))
    run = player.play()
    (approval,) = run.records(Approval)
    state = run.states["checkout"]
    decision = approval.model_copy(update={"action": "approve", "actor": "alice", "at": T0 + 900})
    state, effects = _feed(state, decision)
    event = _records(effects, IncidentEvent)[0]
    assert event.type == "fix_approved" and event.incident_id == approval.incident_id
    (order,) = _records(effects, FixOrder)
    assert (order.approval_id, order.runbook, order.params) == (approval.approval_id, "restart-service",
                                                                {"service": "checkout"})
    _, effects = _feed(state, decision.model_copy(update={"approval_id": "someone-else:fix:1"}))
    assert effects == []


def test_severity_rise_after_the_first_alert_realerts_at_once():
    run = play(load(SCENARIOS / "alert_keeps_open.yaml"))
    alerts = [r for r in run.records(OutboxMessage) if r.kind == "alert"]
    assert [a.severity for a in alerts] == ["P2", "P1"]
    changed = next(r for r in run.records(IncidentEvent) if r.type == "severity_changed")
    assert changed.data == {"from": "P2", "to": "P1"} and alerts[1].at == changed.at


def test_read_side_views_and_metrics():
    run = play(load(SCENARIOS / "two_services.yaml"))
    state = run.states["payments"]
    view = incident_view(state)
    assert view["incident"]["severity"] == "P1" and view["incident"]["status"] == "resolved"
    detail = find_incident(state, "payments-20260302T1000Z-1")
    assert detail["tickets"] == ["OPS-2"] and detail["findings"][0]["fingerprint"] == "fp1:java-runtime-makelog"
    assert find_incident(state, "nope") is None
    (entry,) = registry_view(state)
    assert entry["jira_ticket_id"] == "OPS-2" and entry["severity"] == "P1"
    metrics = incident_metrics(state)
    assert metrics["incidents_open"] == 0 and metrics["incidents_resolved_total"] == 1
    assert metrics["last_time_to_resolve_s"] == 300.0  # opened 10:01, resolved 10:06


def test_closed_incidents_are_archived_after_the_reopen_window():
    run = play(load(SCENARIOS / "ai_match.yaml"))
    state = run.states["checkout"]
    assert [c.incident_id for c in state.closed] == ["checkout-20260302T1000Z-1"]
    assert state.incident.incident_id == "checkout-20260302T1045Z-2"
    assert find_incident(state, "checkout-20260302T1000Z-1")["status"] == "closed"


def test_two_fingerprints_of_one_known_issue_comment_on_its_ticket_once():
    run = play(load(SCENARIOS / "known_issue_exact.yaml"))
    state = run.states["checkout"]
    variants = [_finding(fp=f"fp1:nginx-variant-{i}", error_type="HTTP 502", endpoint="GET /") for i in range(3)]
    state, effects = _feed(state, _window(90, variants))  # past the reopen window
    # One comment on the known issue's ticket, and the new incident's first alert at once.
    assert [m.kind for m in _records(effects, OutboxMessage)] == ["ticket_comment", "alert"]
    assert [e.type for e in _records(effects, IncidentEvent)].count("registry_matched") == 3


def test_an_ai_timeout_decides_with_the_local_providers_answer():
    from agents.local_ai import fallback_output

    state, effects = _feed(None, _window(0, [_finding()]))
    (request,) = _records(effects, AIRequest)
    state, _ = _feed(state, _window(1, status="clean"))  # past ai_timeout_s
    local = fallback_output("classify", request.payload)
    decision = state.incident.decisions[request.fingerprint]
    assert (decision.severity, decision.category, decision.probable_cause) == (
        local["severity"], local["category"], local["probable_cause"])


def test_approval_requests_carry_their_service_and_old_records_still_find_it():
    run = play(load(SCENARIOS / "resolution_after_5_clean.yaml"))
    (approval,) = run.records(Approval)
    assert approval.service == "checkout" and "service" not in approval.detail
    old = {"approval_id": approval.approval_id, "incident_id": approval.incident_id, "action": "approve",
           "runbook": approval.runbook, "detail": {"service": "checkout"}}  # before the `service` field
    decision = Approval.model_validate(old)
    assert decision.service == "checkout" and decision.schema_version == 1
    fresh, effects = _feed(None, decision)  # a worker that has no state for it yet
    assert fresh.service == "checkout" and effects == []


def test_resolution_report_file_says_each_timeline_entry_once():
    # Read as the person on call: the built-in narrative's own signature and timeline
    # lists are not printed again above the file's Findings and Timeline sections.
    run = play(load(SCENARIOS / "resolution_after_5_clean.yaml"))
    (report,) = run.reports()
    entries = [line for line in report.content.splitlines() if line.startswith("- ") and " UTC: " in line]
    assert entries and len(entries) == len(set(entries))
    assert report.content.count("Timeline") == 1


def test_the_ticket_gets_the_resolution_report_once():
    # Jira comments with the body of both the report comment and the resolve: the resolve
    # says when and points at the report instead of posting it a second time.
    run = play(load(SCENARIOS / "resolution_after_5_clean.yaml"))
    tickets = [r for r in run.records(OutboxMessage) if r.kind in ("ticket_create", "ticket_comment", "ticket_resolve")]
    (comment,) = [r for r in tickets if r.kind == "ticket_comment"]
    (resolve,) = [r for r in tickets if r.kind == "ticket_resolve"]
    assert comment.body == "The upstream app container was down for 5 minutes."  # the scenario's AI report
    assert sum(comment.body in r.body for r in tickets) == 1
    # Resolved at 10:10 (the scenario's `resolved_at`) on 2026-03-02, its day.
    assert resolve.body == "Resolved 2026-03-02 10:10:00 UTC; the resolution report is the comment before this one."


def test_the_timeline_names_a_classified_finding_only_when_it_is_not_the_incidents_own():
    """An update read on call: "classified HTTP 502 at GET /api/cart/{id}: P2 dependency"
    under the title "HTTP 502 at GET /api/cart/{id}" said the finding's name again; a
    second finding of the same incident still needs its name."""
    state, effects = _feed(None, _window(0, [_finding()]))
    (request,) = _records(effects, AIRequest)
    state, _ = _feed(state, _answer(request, CLASSIFY_P2))
    other = _finding(fp="fp1:payments-503", error_type="HTTP 503", endpoint="POST /pay")
    state, effects = _feed(state, _window(1, [_finding(), other]))
    (match,) = _records(effects, AIRequest)  # a new finding is matched to known issues first
    state, effects = _feed(state, _answer(match, {"entry_id": None, "confidence": 0.2, "reason": "nothing similar"}))
    (second,) = [r for r in _records(effects, AIRequest) if r.task == "classify"]
    state, _ = _feed(state, _answer(second, CLASSIFY_P2))
    notes = [entry["text"] for entry in state.incident.timeline if entry["text"].startswith("classified")]
    assert notes == ["classified: P2 database", "classified HTTP 503 at POST /pay: P2 database"]


def test_resolution_report_file_timeline_does_not_name_the_title_again():
    """The file "# TimeoutError at GET /orders on checkout" began its timeline with
    "new finding: TimeoutError at GET /orders" at the opening minute."""
    run = play(load(SCENARIOS / "resolution_after_5_clean.yaml"))
    (report,) = run.reports()
    timeline = report.content.split("## Timeline", 1)[1]
    assert "incident opened" in timeline and "new finding:" not in timeline
