"""A one-off seen while an incident of its service is open joins that incident (issue #13).

Expected values come from the rule (DESIGN.md, the lifecycle): a one-off (seen once, new,
not in the registry) gets a silent ticket of its own only when no incident of the
service is open; while one is open it is a finding of that incident, the incident's
ticket gets a comment, and the incident text says so. A window holding only one-offs
counts as clean, so the incident still resolves after `resolve_after` (5) clean windows
in a row, and the report and the timeline say the same number.
"""

from __future__ import annotations

from agents.incidents.config import IncidentsConfig
from agents.incidents.effects import Publish, WriteReport
from agents.incidents.lifecycle import apply, event_time
from agents.local_ai import fallback_output
from schemas.records import AIRequest, AIResult, Finding, IncidentEvent, OutboxMessage, Receipt, WindowSummary

T0 = 1772445600.0  # 2026-03-02T10:00:00Z
CFG = IncidentsConfig()
SERVICE = "orders"

# Findings shaped as extraction makes them: the outage (order creation failing,
# the database refusing connections) and single unrelated errors while it lasts.
OUTAGE = Finding(fingerprint="fp1:outage", service=SERVICE, endpoint="POST /v1/orders",
                 error_type="psycopg2.OperationalError", level="error", count=21,
                 template="psycopg2.OperationalError: could not connect to server: Connection refused",
                 title="psycopg2.OperationalError: could not connect to server: Connection refused")
ONCE = Finding(fingerprint="fp1:once", service=SERVICE, error_type="java.lang.IllegalStateException",
               level="error", count=1, template="java.lang.IllegalStateException: cart <*> already closed",
               title="java.lang.IllegalStateException: cart 88 already closed")
ALONE = Finding(fingerprint="fp1:alone", service=SERVICE, error_type="coupon service answered garbage",
                level="error", count=1, template="coupon service answered garbage",
                title="coupon service answered garbage")
LATER = Finding(fingerprint="fp1:later", service=SERVICE, error_type="stale price cache", level="error",
                count=1, template="stale price cache for sku <*>", title="stale price cache for sku 7")


def _window(minute: int, findings: list[Finding]) -> WindowSummary:
    start = T0 + minute * 60
    stamped = [f.model_copy(update={"first_seen": start + 1, "last_seen": start + 2}) for f in findings]
    return WindowSummary(id=f"{SERVICE}|{start:.0f}|1", service=SERVICE, window_start=start, window_end=start + 60,
                         status="errors" if findings else "clean", lines=400,
                         errors=sum(f.count for f in findings), findings=stamped)


class Pipeline:
    """The reducer with the local AI answering every request and the console answering
    every ticket with its label."""

    def __init__(self) -> None:
        self.state = None
        self.effects: list = []

    def feed(self, event) -> None:
        queue = [event]
        while queue:
            item = queue.pop(0)
            self.state, effects = apply(self.state, item, event_time(item), CFG)
            self.effects += effects
            for record in (e.record for e in effects if isinstance(e, Publish)):
                if isinstance(record, AIRequest):
                    queue.append(AIResult(request_id=record.request_id, task=record.task, service=record.service,
                                          incident_id=record.incident_id, fingerprint=record.fingerprint,
                                          at=record.at, output=fallback_output(record.task, record.payload,
                                                                               record.service)))
                elif isinstance(record, OutboxMessage) and record.kind in ("ticket_create", "oneoff_ticket"):
                    queue.append(Receipt(key=record.key, channel="console", status="delivered", kind=record.kind,
                                         external_ref=record.labels[0], at=record.at))

    def records(self, kind):
        return [e.record for e in self.effects if isinstance(e, Publish) and isinstance(e.record, kind)]


def _play() -> Pipeline:
    run = Pipeline()
    run.feed(_window(0, [OUTAGE]))
    run.feed(_window(1, [OUTAGE, ONCE]))
    run.feed(_window(2, [ALONE]))  # only a one-off: a clean window that adds a finding
    for minute in range(3, 7):
        run.feed(_window(minute, []))
    run.feed(_window(7, [LATER]))  # the incident is resolved: a one-off of its own again
    return run


def test_a_oneoff_during_an_open_incident_joins_it_and_gets_no_ticket():
    run = _play()
    messages = run.records(OutboxMessage)
    assert [m.title for m in messages if m.kind == "oneoff_ticket"] == [
        "One-off: stale price cache on orders"]
    (ticket,) = [m for m in messages if m.kind == "ticket_create"]
    incident_id = ticket.incident_id
    joined = [m for m in messages if m.kind == "ticket_comment" and m.title.startswith("One-off joined")]
    assert [(m.title, m.labels) for m in joined] == [
        ("One-off joined: java.lang.IllegalStateException", [incident_id]),
        ("One-off joined: coupon service answered garbage", [incident_id])]
    added = [e.data["fingerprint"] for e in run.records(IncidentEvent) if e.type == "finding_added"]
    assert added == ["fp1:outage", "fp1:once", "fp1:alone"]


def test_the_incident_text_says_the_oneoff_joined_and_the_clean_count_agrees():
    run = _play()
    resolved = [e for e in run.records(IncidentEvent) if e.type == "resolved"]
    # Errors in minute 1; minutes 2 (one-off only) to 6 are 5 clean windows: resolved at the end of minute 6.
    assert [(e.at - T0) / 60 for e in resolved] == [7.0]
    assert resolved[0].data["clean_windows"] == 5
    (report,) = [e for e in run.effects if isinstance(e, WriteReport)]
    assert "after 5 clean windows in a row" in report.content
    assert "resolved after 5 clean windows in a row" in report.content
    assert "6 clean windows" not in report.content
    assert "joined it instead of getting a ticket of their own: java.lang.IllegalStateException; " \
           "coupon service answered garbage" in report.content
    assert "java.lang.IllegalStateException (one-off, joined this incident)" in report.content
    timeline = [item["text"] for item in run.state.closed[-1:] and [] or []]
    assert timeline == []
    notes = "\n".join(m.body for m in run.records(OutboxMessage))
    assert "one-off joined the open incident (no ticket of its own): java.lang.IllegalStateException" in notes


def test_no_machine_token_in_what_people_read():
    run = _play()
    for message in run.records(OutboxMessage):
        assert "fp1:" not in message.title and "<*>" not in message.title, message.title
        if message.kind in ("alert", "update", "resolved"):
            assert "fp1:" not in message.body, message.body
    (ticket,) = [m for m in run.records(OutboxMessage) if m.kind == "ticket_create"]
    # P1 by the impact rule: 21 (>= 5) connection refusals on a write route in one window,
    # so every order creation fails while the database refuses connections.
    assert ticket.title == "psycopg2.OperationalError at POST /v1/orders on orders"  # channels add "[P1] TICKET"
