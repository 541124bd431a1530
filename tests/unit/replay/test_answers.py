"""A replay decides as the live run did, AI answers included, however fast its windows come.

Live, the model's answer reaches the reducer a second after its request, long before the
service's next window (60 s of event time later). A replay reads a day in seconds: an
answer sent through its topics came behind the next windows, after its 30 s timeout, and
the replay decided by its built-in rules where the live run used the model. These tests
fold inputs as the replay's incident stage does (`fold_record` with the replay's answers)
against a table, without a broker.
"""

from __future__ import annotations

from agents.incidents.config import IncidentsConfig
from agents.incidents.effects import Publish
from agents.incidents.fold import fold_record
from schemas.effects import Store
from schemas.records import (AIAudit, AIRequest, AIResult, Finding, IncidentEvent, OutboxMessage, Receipt,
                             WindowSummary)
from streams.config import Config
from streams.replay.answers import EXPIRED_LIVE, RecordedAnswers, ReplayAnswers

T0 = 1772445600.0  # 2026-03-02T10:00:00Z
CFG = IncidentsConfig()
assert CFG.ai_timeout_s < 60  # a window a minute later is past the timeout: the race the replay must not lose

MODEL = {"severity": "P1", "one_off": False, "category": "database",
         "probable_cause": "orders-db connection pool exhausted by the 10:00 batch job", "confidence": 0.9}


def _window(minute: int, count: int = 40, second: bool = False) -> WindowSummary:
    """`second`: a second error of its own beside the first (a finding added to the incident)."""
    start = T0 + minute * 60
    findings = [Finding(fingerprint="fp1:orders-db-timeout", service="checkout", endpoint="GET /orders",
                        error_type="TimeoutError", template="TimeoutError: <*>", level="error", count=count,
                        samples=["TimeoutError: QueuePool limit of size 5 overflow 10 reached"])]
    if second:
        findings.append(Finding(fingerprint="fp1:payments-refused", service="checkout", endpoint="POST /pay",
                                error_type="ConnectionRefusedError", template="ConnectionRefusedError: <*>",
                                level="error", count=9, samples=["ConnectionRefusedError: [Errno 111]"]))
    return WindowSummary(id=f"checkout|{start:.0f}|1", service="checkout", window_start=start,
                         window_end=start + 60, status="errors", lines=400,
                         errors=sum(f.count for f in findings), findings=findings)


class Run:
    """Inputs folded one after another into a table, as the incident stage does."""

    def __init__(self, answer=None) -> None:  # noqa: ANN001
        self.table: dict = {}
        self.effects: list = []
        self.answer = answer

    def feed(self, record) -> list:  # noqa: ANN001
        state, out = fold_record(self.table, record, 0, CFG, service="checkout", answer=self.answer)
        for effect in out:
            if isinstance(effect, Store):
                if effect.value is None:
                    self.table.pop(effect.key, None)
                else:
                    self.table[effect.key] = effect.value
        self.state = state
        self.effects += out
        return out

    def records(self, kind) -> list:  # noqa: ANN001
        return [e.record for e in self.effects if isinstance(e, Publish) and isinstance(e.record, kind)]

    def notes(self) -> list[str]:
        return [entry["text"] for entry in self.state.incident.timeline]


def _model_answer(request: AIRequest) -> AIResult:
    return AIResult(request_id=request.request_id, task=request.task, service=request.service,
                    incident_id=request.incident_id, fingerprint=request.fingerprint, at=request.at,
                    output=MODEL, provider="anthropic", model="claude-sonnet-4-5")


def _live(answer_in_time: bool) -> tuple[Run, AIResult]:
    """The live run: the minute-0 window opens the incident and asks to classify; the
    model's answer comes a second later (in time), or only after the minute-1 window."""
    live = Run()
    live.feed(_window(0))
    (request,) = [r for r in live.records(AIRequest) if r.task == "classify"]
    answer = _model_answer(request)
    if answer_in_time:
        live.feed(answer)
        live.feed(_window(1))
    else:
        live.feed(_window(1))
        live.feed(answer)
    return live, answer


def _recorded(live: Run, answer: AIResult) -> RecordedAnswers:
    """What the replay reads from the live topics: the AI stage's answer on ai.results, ai.audit."""
    recorded = RecordedAnswers()
    recorded.add(answer.model_dump_json().encode())
    for audit in live.records(AIAudit):
        recorded.add_audit(audit.model_dump_json().encode())
    return recorded


def _events(run: Run) -> list[tuple]:
    return [(e.event_id, e.type, e.at, e.severity, e.title, e.data) for e in run.records(IncidentEvent)]


def test_a_model_answer_recorded_live_decides_the_replay_though_its_windows_come_first():
    live, answer = _live(answer_in_time=True)
    assert live.state.incident.severity == "P1"  # the model's, as live

    # The replay's windows arrive back to back, the answer nowhere near: the old way,
    # without answers folded in, the timeout fired and the built-in rules decided.
    without = Run()
    without.feed(_window(0))
    without.feed(_window(1))
    assert "no AI answer for classify in time: built-in decision" in without.notes()

    recorded = RecordedAnswers()
    recorded.add(answer.model_dump_json().encode())
    replay = Run(ReplayAnswers(Config(), recorded))
    replay.feed(_window(0))
    replay.feed(_window(1))
    assert replay.state.incident.severity == "P1"
    assert not [n for n in replay.notes() if "in time" in n]
    assert any(MODEL["probable_cause"] in str(d) for d in replay.state.incident.decisions.values())
    assert _events(replay) == _events(live)


def test_a_request_the_live_run_gave_up_on_is_given_up_on_in_the_replay_though_its_answer_came_later():
    live, answer = _live(answer_in_time=False)
    (expired,) = live.records(AIAudit)
    # Said where a replay (and anyone reading ai.audit) finds it.
    assert (expired.request_id, expired.outcome, expired.provider) == (answer.request_id, "expired", "incidents")
    assert expired.at == T0 + 120  # the minute-1 window's end, 30 s past the deadline
    assert "no AI answer for classify in time: built-in decision" in live.notes()
    assert live.state.incident.severity != "P1"  # the late answer changed nothing

    recorded = _recorded(live, answer)
    assert answer.request_id in recorded.results and recorded.expired == {answer.request_id}
    answers = ReplayAnswers(Config(), recorded)
    replay = Run(answers)
    replay.feed(_window(0))
    replay.feed(_window(1))
    assert _events(replay) == _events(live)
    assert replay.notes() == live.notes()
    request = next(r for r in replay.records(AIRequest) if r.request_id == answer.request_id)
    audit = answers.audit(request)
    assert (audit.outcome, audit.fallback_reason) == ("expired", EXPIRED_LIVE)


def test_a_request_nobody_recorded_is_answered_by_the_local_provider_in_the_same_fold():
    # A file replay: no live run, every answer the local provider's, none late.
    answers = ReplayAnswers(Config(), RecordedAnswers())
    replay = Run(answers)
    replay.feed(_window(0))
    replay.feed(_window(1))
    assert not [n for n in replay.notes() if "in time" in n]
    (request,) = [r for r in replay.records(AIRequest) if r.task == "classify"]
    audit = answers.audit(request)
    assert audit.fallback_reason == "replay: not recorded" and audit.provider == "local"
    assert not replay.state.pending  # nothing left waiting


def test_the_live_ticket_receipt_is_folded_in_where_live_had_it():
    # Live: the tracker answered the ticket's creation (OPS-7) a second after the model's
    # classification asked for it, a minute before the next window.
    live = Run()
    live.feed(_window(0))
    (request,) = [r for r in live.records(AIRequest) if r.task == "classify"]
    answer = _model_answer(request)
    live.feed(answer)
    (ticket,) = [m for m in live.records(OutboxMessage) if m.kind == "ticket_create"]
    receipt = Receipt(key=ticket.key, channel="jira", status="delivered", kind="ticket_create",
                      external_ref="OPS-7", at=ticket.at)
    live.feed(receipt)
    live.feed(_window(1))
    live.feed(_window(2))
    assert live.state.incident.tickets == ["OPS-7"]

    assert _replayed(live, answer, receipt) == _events(live)


def test_a_ticket_receipt_live_took_late_is_taken_as_late_in_the_replay():
    # Live: a worker catching up on a backlog read the tracker's answer only after the
    # next two windows (and their events), as a replay's own notify stage would bring it.
    # Its AI answers (the local provider's) each came at once.
    live = Run(ReplayAnswers(Config(), RecordedAnswers()))
    live.feed(_window(0))
    (ticket,) = [m for m in live.records(OutboxMessage) if m.kind == "ticket_create"]
    receipt = Receipt(key=ticket.key, channel="jira", status="delivered", kind="ticket_create",
                      external_ref="OPS-7", at=ticket.at)
    live.feed(_window(1, second=True))  # a second error: its own events
    live.feed(_window(2))
    before = len(live.records(IncidentEvent))
    assert "finding_added" in [e.type for e in live.records(IncidentEvent)[-3:]]
    live.feed(receipt)
    (created,) = [e for e in live.records(IncidentEvent) if e.type == "ticket_created"]
    assert created.event_id.endswith(f":{before + 1}")  # the live place: after every event of the windows

    recorded = RecordedAnswers()
    for event in live.records(IncidentEvent):
        recorded.add_event(event.model_dump_json().encode())
    recorded.add_receipt(receipt.model_dump_json().encode())
    replay = Run(ReplayAnswers(Config(), recorded))
    for minute in range(3):
        replay.feed(_window(minute, second=minute == 1))
    assert _events(replay) == _events(live)
    assert replay.state.incident.tickets == ["OPS-7"]


def _replayed(live: Run, answer: AIResult, receipt: Receipt) -> list[tuple]:
    recorded = _recorded(live, answer)
    for event in live.records(IncidentEvent):
        recorded.add_event(event.model_dump_json().encode())
    recorded.add_receipt(receipt.model_dump_json().encode())
    recorded.add_receipt(receipt.model_copy(update={"channel": "slack", "external_ref": "1712.9"})
                         .model_dump_json().encode())  # a second channel's receipt of the same key
    replay = Run(ReplayAnswers(Config(), recorded))
    for minute in range(3):
        replay.feed(_window(minute))
    assert replay.state.incident.tickets == ["OPS-7"]
    created = [e for e in replay.records(IncidentEvent) if e.type == "ticket_created"]
    assert [(e.at, e.data["ticket"]) for e in created] == [(T0 + 60, "OPS-7")]  # at the decision's time
    return _events(replay)
