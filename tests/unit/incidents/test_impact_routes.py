"""The window's access-log counts per route (`WindowSummary.routes`) reach the severity
decision (issue #13): the endpoint-share rule of `impact.py` in production, through the
lifecycle, the first alert and the classification request.

Expected values are the rules' arithmetic on the counts and their documented defaults
(`[incidents.severity]`: P1 at half a write path's requests failing, nothing below 1 %).
"""

from __future__ import annotations

from typing import Any

from agents.incidents.state import ServiceState
from schemas.records import AIRequest, Finding, OutboxMessage, RouteCount, WindowSummary
from tests.unit.incidents.scenario_runner import DEFAULT_AI, Run, ScenarioPlayer

START = "2026-12-02T03:00:00Z"
AT = 1_796_180_400.0  # START as a timestamp


def _finding(endpoint: str, count: int, error_type: str = "ValueError",
             title: str = "ValueError: invalid literal for int() with base 10: 'abc'") -> Finding:
    return Finding(fingerprint=f"fp1:{endpoint}:{error_type}", service="orders", endpoint=endpoint,
                   error_type=error_type, level="error", count=count, template=title, title=title,
                   first_seen=AT, last_seen=AT,
                   samples=["Traceback (most recent call last):\n  File \"app/orders.py\", line 41, in create\n"
                            "    qty = int(body['qty'])\n" + title])


def _window(findings: list[Finding], lines: int, routes: dict[str, RouteCount]) -> WindowSummary:
    return WindowSummary(id=f"orders|{AT:.0f}|1", service="orders", window_start=AT, window_end=AT + 60,
                         status="errors", lines=lines, errors=sum(f.count for f in findings),
                         findings=findings, routes=routes)


def _play(window: WindowSummary, classify: dict[str, Any] | None = None,
          then: tuple[WindowSummary, ...] = (), unanswered: tuple[str, ...] = ()) -> tuple[Run, ServiceState]:
    ai = {"outputs": {"classify": {**DEFAULT_AI["classify"], **(classify or {})}}, "unanswered": list(unanswered)}
    player = ScenarioPlayer({"start": START, "service": "orders", "timeline": [], "ai": ai})
    for record in (window, *then):
        player.feed(record)
    return player.run, player.run.states["orders"]


def _timeline(state: ServiceState) -> list[str]:
    assert state.incident is not None
    return [entry["text"] for entry in state.incident.timeline]


def test_forty_of_fifty_order_writes_failing_pages_p1_with_the_reason():
    # 40 error lines for 40 failed requests: the classification alone says P2 (an
    # unhandled ValueError); the access log says 80 % of a write path fails: P1.
    window = _window([_finding("POST /v1/orders", 40)], lines=400,
                     routes={"POST /v1/orders": RouteCount(requests=50, failed=40)})
    run, state = _play(window, classify={"severity": "P2"})
    reason = "40 of 50 requests to POST /v1/orders failed in one minute (80%, write path)"
    assert state.incident is not None and state.incident.severity == "P1"
    assert any(reason in text and "(at least P1)" in text for text in _timeline(state))
    alerts = [m for m in run.records(OutboxMessage) if m.kind == "alert"]
    # The first page already says P1 and why: it is built before any model answers.
    assert alerts[0].severity == "P1" and reason in alerts[0].body
    assert run.outbox()[0] == "alert P1"


def test_a_single_error_line_of_a_failing_write_route_is_no_one_off():
    # One error line (a new fingerprint, seen once) would be a silent one-off ticket; the
    # access log says 40 of 50 order writes failed in the same window, so it pages.
    window = _window([_finding("POST /v1/orders", 1)], lines=400,
                     routes={"POST /v1/orders": RouteCount(requests=50, failed=40)})
    run, state = _play(window)
    assert "oneoff_ticket P4" not in run.outbox()
    assert state.incident is not None and state.incident.severity == "P1"


def test_one_of_five_hundred_reads_failing_does_not_raise_the_classification():
    # Two lines (the handler's and the middleware's traceback) of one failed request out of
    # 500 to a read path: 0.2 %, below the 1 % the impact rules start at.
    window = _window([_finding("GET /v1/orders/{id}", 2)], lines=2000,
                     routes={"GET /v1/orders/{id}": RouteCount(requests=500, failed=1)})
    run, state = _play(window, classify={"severity": "P3"})
    assert state.incident is not None and state.incident.severity == "P3"
    assert not any(text.startswith("impact of") for text in _timeline(state))
    assert run.outbox()[0] == "alert P3"
    # The decision remembers no floor for it.
    decision = state.incident.decisions[window.findings[0].fingerprint]
    assert decision.floor == "" and decision.severity == "P3"


def test_a_route_missing_from_the_access_log_counts_changes_nothing():
    finding = _finding("POST /v1/orders", 40)
    without = _play(_window([finding], lines=400, routes={}))[0]
    elsewhere = _play(_window([finding], lines=400,
                              routes={"GET /v1/orders/{id}": RouteCount(requests=50, failed=40)}))[0]
    assert [e.record for e in elsewhere.effects] == [e.record for e in without.effects]
    # ...and the classification alone (the scenario's P2) decides.
    assert without.outbox()[0] == "alert P2"


def test_the_classification_is_asked_with_the_routes_counts():
    with_route = _play(_window([_finding("GET /v1/orders/{id}", 2)], lines=2000,
                               routes={"GET /v1/orders/{id}": RouteCount(requests=500, failed=1)}))[0]
    payload = with_route.records(AIRequest)[0].payload
    assert payload["route"] == {"requests": 500, "failed": 1}
    assert (payload["window_errors"], payload["window_lines"]) == (2, 2000)
    # No access log for the route: the request is what it was before routes existed.
    without = _play(_window([_finding("GET /v1/orders/{id}", 2)], lines=2000, routes={}))[0]
    assert "route" not in without.records(AIRequest)[0].payload


def test_a_classification_decided_after_an_ai_timeout_reads_the_same_counts():
    # The AI never answers: the first page is built in (P3: 1 of 500 reads failed), and
    # the classification decided when the request times out, a minute later, is rebuilt
    # from the state with the same counts, so it does not page again at P2.
    window = _window([_finding("GET /v1/orders/{id}", 2)], lines=2000,
                     routes={"GET /v1/orders/{id}": RouteCount(requests=500, failed=1)})
    clean = WindowSummary(id=f"orders|{AT + 60:.0f}|1", service="orders", window_start=AT + 60,
                          window_end=AT + 120, status="clean", lines=2000)
    run, state = _play(window, then=(clean,), unanswered=("classify", "match", "summary"))
    assert state.incident is not None
    decision = state.incident.decisions[window.findings[0].fingerprint]
    assert decision.stage == "done" and decision.severity == "P3"
    assert "1 of 500 requests to GET /v1/orders/{id} failed in one minute (0.2%)" in decision.probable_cause
    assert [m for m in run.outbox() if m.startswith("alert")] == ["alert P3"]
    assert state.incident.severity == "P3"


def test_a_classification_asked_again_says_the_count_of_its_window_not_the_running_total():
    # 8 errors in the first window, 8 more of the same in the next, and a model that never
    # answers: the classification decided when the request times out reads the window it
    # was asked for ("8x in one minute"), not the incident's running total of 16.
    first = _window([_finding("POST /v1/orders", 8)], lines=400, routes={})
    again = _finding("POST /v1/orders", 8).model_copy(update={"first_seen": AT + 60, "last_seen": AT + 60})
    second = WindowSummary(id=f"orders|{AT + 60:.0f}|1", service="orders", window_start=AT + 60,
                           window_end=AT + 120, status="errors", lines=400, errors=8, findings=[again])
    clean = [WindowSummary(id=f"orders|{AT + 60 * m:.0f}|1", service="orders", window_start=AT + 60 * m,
                           window_end=AT + 60 * (m + 1), status="clean", lines=400) for m in (2, 3)]
    run, state = _play(first, then=(second, *clean), unanswered=("classify", "match", "summary"))
    assert state.incident is not None
    fingerprint = first.findings[0].fingerprint
    assert state.incident.findings[fingerprint].count == 16
    decision = state.incident.decisions[fingerprint]
    assert decision.stage == "done"
    assert "8x in one minute" in decision.probable_cause, decision.probable_cause
