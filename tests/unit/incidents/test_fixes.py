"""The fix workflow of ops/APPROVALS.md, one rule per test: proposal, decisions, runs, escalation.

Every incident here opens at 10:00 (window 10:00-10:01, so its first event time is
10:01:00) with an out-of-memory error: the built-in rules propose restart-service
(`propose_for = ["oom"]`, params.service from the incident) at 10:01:00, and the
incident is P1 (an OOM is P1 by the built-in classification).
"""

from __future__ import annotations

from typing import Any

from agents.incidents.effects import Publish
from agents.incidents.lifecycle import apply, event_time
from agents.incidents.state import ServiceState
from agents.notify.config import NotifyConfig
from agents.notify.routing import route
from schemas.records import Approval, FixOrder, IncidentAction, IncidentEvent, OutboxMessage, WindowSummary
from tests.unit.incidents.scenario_runner import ScenarioPlayer

T0 = 1772445600.0  # 2026-03-02T10:00:00Z
INCIDENT = "checkout-20260302T1000Z-1"
FIX = f"{INCIDENT}:fix:1"
OOM = {"fingerprint": "fp1:checkout-oom", "error_type": "OutOfMemoryError",
       "template": "java.lang.OutOfMemoryError: Java heap space", "level": "error", "count": 5}
PLAIN = {"fingerprint": "fp1:checkout-keyerror", "error_type": "KeyError", "template": "KeyError: <*>",
         "level": "error", "count": 5}


def _scenario(finding: dict[str, Any] = OOM, classify: dict[str, Any] | None = None,
              **approvals: Any) -> dict[str, Any]:
    ai = {"classify_by_fingerprint": {finding["fingerprint"]: classify}} if classify else {}
    return {"start": "2026-03-02T10:00:00Z", "service": "checkout",
            "config": {"runbooks": ["restart-service", "scale-up"]}, "approvals": approvals,
            "findings": {"f": finding}, "ai": ai,
            "timeline": [{"minute": 0, "window": {"findings": ["f"]}}]}


def _opened(finding: dict[str, Any] = OOM, classify: dict[str, Any] | None = None, **approvals: Any):
    player = ScenarioPlayer(_scenario(finding, classify, **approvals))
    run = player.play()
    return player, run, run.states["checkout"]


class Fold:
    """Feeds records to the reducer after the scenario's opening, keeping the state."""

    def __init__(self, **approvals: Any) -> None:
        self.player, self.run, self.state = _opened(**approvals)
        self.cfg = self.player.cfg

    def feed(self, record: Any) -> list[Any]:
        self.state, effects = apply(self.state, record, event_time(record), self.cfg)
        return [e.record for e in effects if isinstance(e, Publish)]


def _decision(action: str, actor: str, at: float, decision_id: str, **extra: Any) -> Approval:
    return Approval(approval_id=FIX, incident_id=INCIDENT, service="checkout", action=action, actor=actor,
                    via="cli", decision_id=decision_id, at=at, **extra)


def _report(action: str, at: float, **extra: Any) -> Approval:
    return Approval(approval_id=FIX, incident_id=INCIDENT, service="checkout", action=action, actor="executor",
                    via="executor", runbook="restart-service", at=at, **extra)


def _window(minute: int, findings: list[dict[str, Any]] | None = None) -> WindowSummary:
    from schemas.records import Finding

    start = T0 + minute * 60
    found = [Finding(service="checkout", first_seen=start, last_seen=start, **f) for f in findings or []]
    return WindowSummary(id=f"checkout|{start:.0f}|1", service="checkout", window_start=start,
                         window_end=start + 60, status="errors" if found else "clean", lines=50,
                         errors=sum(f.count for f in found), findings=found)


def _events(records: list[Any], type_: str | None = None) -> list[IncidentEvent]:
    return [r for r in records if isinstance(r, IncidentEvent) and (type_ is None or r.type == type_)]


def _types(records: list[Any]) -> list[str]:
    return [r.type for r in _events(records)]


def _orders(records: list[Any]) -> list[FixOrder]:
    return [r for r in records if isinstance(r, FixOrder)]


def _outbox(records: list[Any], kind: str | None = None) -> list[OutboxMessage]:
    return [r for r in records if isinstance(r, OutboxMessage) and (kind is None or r.kind == kind)]


# --- proposal ------------------------------------------------------------------------


def test_an_open_incident_gets_the_runbook_its_kind_maps_to_proposed_with_the_incidents_own_params():
    _, run, state = _opened()
    (request,) = run.records(Approval)
    assert (request.action, request.approval_id, request.runbook, request.params) == (
        "requested", FIX, "restart-service", {"service": "checkout"})
    (proposed,) = [e for e in run.records(IncidentEvent) if e.type == "fix_proposed"]
    assert proposed.at == T0 + 60
    assert proposed.data["expires_at"] == T0 + 60 + 3600  # approvals.proposal_ttl_s by default
    assert proposed.data["params"] == {"service": "checkout"} and proposed.data["dry_run"] is True
    (message,) = [m for m in run.records(OutboxMessage) if m.kind == "approval_request"]
    assert {k: message.fields[k] for k in ("approval_id", "incident_id", "runbook")} == {
        "approval_id": FIX, "incident_id": INCIDENT, "runbook": "restart-service"}
    for text in ("restart-service", "systemctl restart checkout", "checkout", "Dry run", f"logwarden approve {FIX}"):
        assert text in message.body, text
    assert state.fixes[FIX].status == "pending"


def test_at_most_one_pending_proposal_per_incident():
    fold = Fold()
    crash = {"fingerprint": "fp1:checkout-segv", "error_type": "SIGSEGV", "template": "segmentation fault",
             "level": "error", "count": 2}
    out = fold.feed(_window(1, [crash]))
    for record in list(out):  # answer the new finding's classification as the AI agent would
        if getattr(record, "task", "") == "classify":
            from schemas.records import AIResult

            out += fold.feed(AIResult(request_id=record.request_id, task="classify", service="checkout",
                                      incident_id=INCIDENT, fingerprint=record.fingerprint, at=record.at,
                                      output={"severity": "P1", "one_off": False, "category": "code",
                                              "probable_cause": "crash", "confidence": 0.8}))
    assert "fix_proposed" not in _types(out)
    assert [f.approval_id for f in fold.state.fixes.values()] == [FIX]


def test_a_model_naming_a_runbook_outside_the_allowlist_proposes_nothing():
    for runbook in ("rm-rf-everything", "flush-cache"):  # unknown; in the catalog but not allowed here
        _, run, state = _opened(PLAIN, {"severity": "P2", "runbook": runbook})
        assert run.records(Approval) == [] and state.fixes == {}
        assert "fix not proposed: a runbook outside the allowlist was named" in [
            t["text"] for t in state.incident.timeline]
        assert not [m for m in run.records(OutboxMessage) if m.kind == "approval_request"]


def test_model_params_outside_the_schema_or_with_injected_args_propose_nothing():
    for params in ({"replicas": "100"}, {"service": "api; rm -rf /"}, {"service": "payments"},
                   {"replicas": "4 --all"}, {"bogus": "1"}):
        _, run, state = _opened(PLAIN, {"severity": "P2", "runbook": "scale-up", "params": params})
        assert run.records(Approval) == [], params
        assert any(t["text"].startswith("fix not proposed") for t in state.incident.timeline), params
        assert not any("rm -rf" in t["text"] for t in state.incident.timeline), params


def test_a_model_naming_an_allowed_runbook_with_a_declared_choice_is_proposed():
    _, run, _ = _opened(PLAIN, {"severity": "P2", "runbook": "scale-up", "params": {"replicas": "6"}})
    (request,) = run.records(Approval)
    assert request.params == {"service": "checkout", "replicas": "6"}
    assert request.detail["argv"] == ["kubectl", "scale", "deployment/checkout", "--replicas=6"]


# --- decisions -----------------------------------------------------------------------


def test_an_approval_orders_the_fix_once():
    fold = Fold()
    out = fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    (approved,) = _events(out, "fix_approved")
    assert approved.data.items() >= {"approvals": 1, "needed": 1, "actor": "cli:alice"}.items()
    (order,) = _orders(out)
    assert (order.approval_id, order.runbook, order.params, order.approved_by, order.dry_run) == (
        FIX, "restart-service", {"service": "checkout"}, ["cli:alice"], True)


def test_two_approvals_racing_the_first_wins_the_second_is_refused():
    fold = Fold()
    first = fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    second = fold.feed(_decision("approve", "slack:U2", T0 + 120, "d2"))
    assert len(_orders(first)) == 1 and _orders(second) == []
    (refused,) = _events(second, "approval_refused")
    assert (refused.data["reason"], refused.data["actor"]) == ("already_decided", "slack:U2")


def test_escalate_then_approve_is_refused_and_escalation_raises_the_ticket_and_pages():
    fold = Fold()
    out = fold.feed(_decision("escalate", "cli:bob", T0 + 120, "d1", reason="the heap dump says a DB leak"))
    (escalated,) = _events(out, "fix_escalated")
    assert escalated.data.items() >= {"actor": "cli:bob", "reason": "the heap dump says a DB leak",
                                      "approval_id": FIX, "runbook": "restart-service"}.items()
    (comment,) = _outbox(out, "ticket_comment")
    assert comment.fields["priority_raised"] == "true" and comment.fields["reason"] == "the heap dump says a DB leak"
    (page,) = _outbox(out, "alert")
    assert page.severity == "P1" and "cli:bob" in page.body
    later = fold.feed(_decision("approve", "cli:alice", T0 + 130, "d2"))
    assert _orders(later) == []
    assert [e.data["reason"] for e in _events(later, "approval_refused")] == ["already_decided"]


def test_approve_after_the_incident_resolved_by_itself_is_refused_not_pending():
    fold = Fold()
    resolved_at = None
    for minute in range(1, 6):  # five clean windows: resolved at the end of the 5th, 10:06
        out = fold.feed(_window(minute))
        resolved_at = next((e.at for e in _events(out, "resolved")), resolved_at)
    assert resolved_at == T0 + 6 * 60
    out = fold.feed(_decision("approve", "cli:alice", T0 + 7 * 60, "d1"))
    assert _orders(out) == []
    assert [e.data["reason"] for e in _events(out, "approval_refused")] == ["not_pending"]


def test_an_expired_proposal_refuses_a_late_approval_even_without_a_tick_in_between():
    fold = Fold()
    out = fold.feed(_decision("approve", "cli:alice", T0 + 60 + 3600, "d1"))  # exactly at expires_at
    assert _types(out)[:2] == ["fix_expired", "approval_refused"]
    assert _events(out, "approval_refused")[0].data["reason"] == "expired" and _orders(out) == []


def test_p1_needs_a_second_different_approver():
    fold = Fold(second_approver_for_p1=True)
    assert fold.state.incident.severity == "P1"
    out = fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    assert _orders(out) == [] and _events(out, "fix_approved")[0].data.items() >= {"approvals": 1, "needed": 2}.items()
    out = fold.feed(_decision("approve", "cli:alice", T0 + 125, "d2"))
    assert [e.data["reason"] for e in _events(out, "approval_refused")] == ["same_approver"] and _orders(out) == []
    out = fold.feed(_decision("approve", "slack:U2", T0 + 130, "d3"))
    (order,) = _orders(out)
    assert order.approved_by == ["cli:alice", "slack:U2"]


def test_a_decision_from_someone_not_an_approver_is_refused():
    fold = Fold(approvers=["cli:alice"])
    out = fold.feed(_decision("approve", "cli:mallory", T0 + 120, "d1"))
    assert [e.data["reason"] for e in _events(out, "approval_refused")] == ["not_an_approver"] and _orders(out) == []
    out = fold.feed(_decision("escalate", "cli:mallory", T0 + 121, "d2"))
    assert "fix_escalated" not in _types(out)
    assert len(_orders(fold.feed(_decision("approve", "cli:alice", T0 + 122, "d3")))) == 1


def test_a_redelivered_decision_counts_once():
    fold = Fold(second_approver_for_p1=True)
    decision = _decision("approve", "cli:alice", T0 + 120, "d1")
    assert len(_events(fold.feed(decision), "fix_approved")) == 1
    assert fold.feed(decision) == []  # the same decision again: nothing, not even a refusal
    assert fold.state.fixes[FIX].approved_by == ["cli:alice"]
    assert len(_orders(fold.feed(_decision("approve", "slack:U2", T0 + 130, "d2")))) == 1


def test_a_decision_on_a_closed_incident_is_refused():
    fold = Fold()
    out = fold.feed(IncidentAction(action_id="a1", incident_id=INCIDENT, service="checkout", action="close",
                                   actor="cli:bob", via="cli", at=T0 + 100))
    assert "closed" in _types(out) and fold.state.incident is None
    out = fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    assert [e.data["reason"] for e in _events(out, "approval_refused")] == ["incident_closed"]


# --- runs and verification -----------------------------------------------------------


def test_a_run_that_did_not_end_ok_escalates_at_once():
    for status in ("failed", "timeout", "interrupted", "refused"):
        fold = Fold()
        fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
        fold.feed(_report("started", T0 + 125))
        out = fold.feed(_report("executed", T0 + 130, status=status, exit_status=1, output="x" * 10000))
        executed = _events(out, "fix_executed")[0]
        assert executed.data["status"] == status and len(executed.data["output"]) == 4096
        (escalated,) = _events(out, "fix_escalated")
        assert escalated.data["actor"] == "logwarden" and status in escalated.data["reason"]


def test_errors_after_the_runs_first_full_window_fail_verification_and_escalate():
    fold = Fold()
    fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    fold.feed(_report("executed", T0 + 150, status="ok", exit_status=0))  # 10:02:30
    # first full window 10:03, verification window 300 s: windows 10:03..10:07, verdict at 10:09
    seen: list[Any] = []
    for minute in range(2, 9):
        seen += fold.feed(_window(minute, [OOM] if minute == 4 else None))
        if minute < 8:
            assert "fix_failed" not in _types(seen), minute
    (failed,) = _events(seen, "fix_failed")
    assert failed.at == T0 + 9 * 60 and failed.data["verify_window_s"] == 300
    (escalated,) = _events(seen, "fix_escalated")
    assert escalated.data["actor"] == "logwarden" and escalated.at == failed.at
    assert "resolved" not in _types(seen)


def test_errors_only_in_the_window_the_run_happened_in_do_not_fail_it():
    fold = Fold()
    fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    fold.feed(_report("executed", T0 + 150, status="ok", exit_status=0, dry_run=False))
    seen: list[Any] = []
    for minute in range(2, 9):
        seen += fold.feed(_window(minute, [OOM] if minute == 2 else None))
    assert _types(seen).count("fix_verified") == 1
    (resolved,) = _events(seen, "resolved")
    assert resolved.data["by"] == "restart-service" and "fixed by restart-service" in resolved.data["text"]
    assert resolved.at == T0 + 9 * 60


def test_errors_that_stop_after_a_dry_run_are_not_credited_to_the_runbook():
    """A dry run only wrote down what it would run: the incident resolves, not "fixed by" it."""
    fold = Fold()
    fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    fold.feed(_report("executed", T0 + 150, status="ok", exit_status=0, dry_run=True))
    seen: list[Any] = []
    for minute in range(2, 9):
        seen += fold.feed(_window(minute, [OOM] if minute == 2 else None))
    (resolved,) = _events(seen, "resolved")
    assert resolved.data["by"] == "logwarden"
    assert "fixed by" not in resolved.data["text"] and "dry run of restart-service" in resolved.data["text"]


def test_state_with_fixes_and_actions_round_trips_through_json():
    fold = Fold()
    fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    fold.feed(IncidentAction(action_id="a1", incident_id=INCIDENT, service="checkout", action="acknowledge",
                             actor="slack:U1", via="slack", at=T0 + 130))
    assert ServiceState.from_json(fold.state.to_json()) == fold.state


# --- people's actions ----------------------------------------------------------------


def test_acknowledging_a_paged_incident_acknowledges_pagerduty_and_later_pages_skip_it():
    fold = Fold()  # P1: its first alert paged on-call
    out = fold.feed(IncidentAction(action_id="a1", incident_id=INCIDENT, service="checkout", action="acknowledge",
                                   actor="slack:U1", via="slack", at=T0 + 100))
    (ack,) = _events(out, "acknowledged")
    assert ack.data == {"actor": "slack:U1", "via": "slack"}
    (update,) = _outbox(out, "update")
    assert update.fields["pagerduty_action"] == "acknowledge" and update.severity == "P1"
    assert fold.state.incident.acknowledged_by == "slack:U1" and fold.state.incident.acknowledged_at == T0 + 100
    assert fold.feed(IncidentAction(action_id="a1", incident_id=INCIDENT, service="checkout", action="acknowledge",
                                    actor="slack:U1", via="slack", at=T0 + 100)) == []  # redelivered
    out = fold.feed(_decision("escalate", "cli:bob", T0 + 120, "d1", reason="worse"))
    (page,) = _outbox(out, "alert")
    assert page.fields["oncall_acknowledged"] == "true"
    notify = NotifyConfig()
    configured = {"pagerduty", "telegram", "slack"}
    assert "pagerduty" in route(update, notify, configured)
    assert route(page, notify, configured) == ["telegram"]


def test_resolve_by_hand_and_note():
    fold = Fold()
    out = fold.feed(IncidentAction(action_id="n1", incident_id=INCIDENT, service="checkout", action="note",
                                   actor="cli:bob", via="cli", text="heap dump taken", at=T0 + 90))
    assert _events(out, "note_added")[0].data == {"actor": "cli:bob", "via": "cli", "text": "heap dump taken"}
    out = fold.feed(IncidentAction(action_id="r1", incident_id=INCIDENT, service="checkout", action="resolve",
                                   actor="cli:bob", via="cli", at=T0 + 100))
    (resolved,) = _events(out, "resolved")
    assert resolved.data["by"] == "cli:bob" and resolved.data["duration_s"] == 40.0  # opened 10:01:00
    assert [getattr(r, "task", "") for r in out if getattr(r, "task", "")] == ["report"]
    # the pending proposal was made while open: nothing runs for an incident that is over
    out = fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    assert [e.data["reason"] for e in _events(out, "approval_refused")] == ["not_pending"]


def test_a_closed_incident_does_not_reopen():
    fold = Fold()
    fold.feed(IncidentAction(action_id="c1", incident_id=INCIDENT, service="checkout", action="close",
                             actor="cli:bob", via="cli", at=T0 + 100))
    assert fold.state.closed[-1].incident_id == INCIDENT and fold.state.closed[-1].closed_by == "cli:bob"
    out = fold.feed(_window(3, [OOM]))  # well inside the reopen window
    assert "reopened" not in _types(out)
    assert _events(out, "opened")[0].incident_id == "checkout-20260302T1003Z-2"


def test_a_check_still_firing_when_the_verification_ends_fails_it():
    from schemas.records import CheckResult

    fold = Fold()
    fold.feed(CheckResult(id="mem|1", check="memory", service="checkout", status="fail", at=T0 + 100))
    fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    fold.feed(_report("executed", T0 + 150, status="ok", exit_status=0))
    seen: list[Any] = []
    for minute in range(2, 9):  # clean windows, but the memory check never recovers
        seen += fold.feed(_window(minute))
    assert _types(seen).count("fix_failed") == 1 and "fix_verified" not in _types(seen)
    assert "resolved" not in _types(seen)


def test_the_review_after_a_verified_fix_does_not_propose_the_same_fix_again():
    """Seen on Kafka: restart-service verified, the incident resolved, then the
    post-resolution review (built-in, after its AI timeout) proposed restart-service again."""
    fold = Fold()
    fold.feed(_decision("approve", "cli:alice", T0 + 120, "d1"))
    fold.feed(_report("executed", T0 + 150, status="ok", exit_status=0, dry_run=False))
    seen: list[Any] = []
    for minute in range(2, 20):  # resolved at minute 9; ten more minutes for the report and review
        seen += fold.feed(_window(minute, [OOM] if minute == 2 else None))
    types = _types(seen)
    assert types.count("resolved") == 1
    after = types[types.index("resolved"):]
    assert "review_posted" in after, after  # the review did run
    assert "fix_proposed" not in after
