"""The console's board as a person on call reads it: worst first, readable, no machine tokens."""

from __future__ import annotations

import re

from agents.console.page import ago, render_board
from agents.console.view import console_view
from agents.console.web import board_answer
from agents.runbooks.catalog import load_catalog, resolve_index
from tests.unit.console.states import T0, service_state

NOW = T0 + 240
MACHINE_TOKENS = re.compile(r"T[0-9a-f]{10}|<\*>|fp1:|al1:|ck1:")


def _raw(**extra) -> dict:
    return service_state(**extra).model_dump(mode="json")


def _board(*states: dict, **kw) -> str:
    return render_board(console_view(states, now=NOW, **kw), NOW)


def test_no_machine_token_reaches_the_page():
    html = _board(_raw())
    assert not MACHINE_TOKENS.findall(html), MACHINE_TOKENS.findall(html)
    # ...and what they named is there in words.
    assert "worker 7 killed: out of memory allocating 1048576 bytes" in html
    assert "upstream … refused connection after … ms" in html
    assert "new finding “worker 7 killed" in html
    assert "known issue “upstream … refused connection" in html


def test_open_incident_shows_severity_status_times_tickets_and_ai_text():
    html = _board(_raw())
    card = html[html.index('<article class="incident incident-P1" data-incident="checkout-20260921T1414Z-1" '
                           'data-status="open"'):]
    assert 'class="sev sev-P1">P1<' in card and ">OPEN<" in card
    assert "2026-09-21 14:14:20 UTC" in card  # opened, in UTC
    assert "3 min ago" in card  # and how long ago
    assert "OPS-42" in card
    assert "Checkout workers run out of memory while creating orders." in card
    assert 'data-act="acknowledge"' in card and 'data-act="note"' in card and 'data-act="resolve"' in card


def test_the_timeline_is_newest_first():
    html = _board(_raw())
    timeline = html[html.index('<ol class="timeline">'):]
    assert timeline.index("ticket OPS-42 created") < timeline.index("incident opened")


def test_worst_incident_first():
    p3 = service_state().model_copy(update={"service": "search"}).model_dump(mode="json")
    p3["incident"].update(service="search", incident_id="search-20260921T1414Z-1", severity="P3",
                          opened_at=T0 + 200, title="search: timeout")
    view = console_view([p3, _raw()], now=NOW)
    assert [i["severity"] for i in view["active"]] == ["P1", "P3"]


def test_recent_and_registry():
    html = _board(_raw())
    assert "checkout: HTTP 503 on GET /v1/cart" in html and "OPS-5" in html
    registry = html[html.index('<section id="registry">'):]
    assert "OPS-7" in registry and "upstream … refused connection after … ms" in registry


def _with_proposal(**fields) -> dict:
    return service_state(fix=fields).model_dump(mode="json")


def test_pending_proposal_says_what_would_run_and_offers_approve_and_escalate():
    catalog = load_catalog(resolve_index("ops/runbooks/index.toml"))
    html = _board(_with_proposal(), catalog=catalog)
    fix = html[html.index('<div class="fix'):]
    assert "restart-service" in fix and "DRY RUN" in fix
    assert "<code>systemctl restart checkout</code>" in fix
    assert 'data-act="approve" data-approval="checkout-20260921T1414Z-1:fix:1"' in fix
    assert 'data-act="escalate"' in fix
    assert "in 57 min" in fix  # proposed at T0+70, expires an hour later; now is T0+240


def test_a_proposal_past_its_time_offers_no_buttons():
    # Proposed at T0+70 with an hour to decide; read an hour and a half later, before any
    # event expired it: an approval now would be refused, so the page offers none.
    html = render_board(console_view([_with_proposal()], now=T0 + 70 + 5400), T0 + 70 + 5400)
    fix = html[html.index('<div class="fix'):]
    assert "expired: nobody decided by" in fix
    assert 'data-act="approve"' not in fix and 'data-act="escalate"' not in fix


def test_a_p1_waiting_for_its_second_approver():
    html = _board(_with_proposal(approved_by=["cli:alice"]))
    assert "approved by cli:alice: a P1 needs a second, different approver" in html
    assert 'data-act="approve"' in html


def test_a_fix_being_verified_and_one_from_the_review():
    html = _board(_with_proposal(status="verifying", approved_by=["http:oncall"], verify_until=T0 + 900))
    assert "checking that the errors stop" in html and "watching until" in html
    html = _board(_with_proposal(origin="review"))
    assert "proposed by the review" in html


def test_decided_proposal_shows_who_decided_and_no_buttons():
    html = _board(_with_proposal(status="approved", approved_by=["http:oncall"]))
    assert 'data-fix-status="approved"' in html
    assert "approved by http:oncall; sent to the executor" in html
    assert 'data-act="approve"' not in html


def test_acknowledged_incident():
    html = _board(_raw(acknowledged_by="cli:alice", acknowledged_at=T0 + 100))
    assert ">ACKNOWLEDGED<" in html and "acknowledged by cli:alice" in html
    assert 'data-act="acknowledge"' not in html


def test_log_text_is_escaped():
    raw = _raw()
    raw["incident"]["title"] = '<script>alert("x")</script>'
    raw["incident"]["summary_text"] = "<img src=x onerror=alert(1)>"
    html = _board(raw)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_partitions_not_all_here_are_said():
    html = _board(_raw(), partitions=[0, 2], total_partitions=4)
    assert "This worker holds partitions 0, 2 of 4" in html
    assert "holds partitions" not in _board(_raw(), partitions=[0, 1, 2, 3], total_partitions=4)


def test_no_incidents():
    html = _board()
    assert "No open incidents." in html


def test_digest_changes_with_the_state_not_with_the_clock():
    a = board_answer([_raw()], now=NOW)
    b = board_answer([_raw()], now=NOW + 30)
    assert a["digest"] == b["digest"] and a["open"] == 1
    raw = _raw()
    raw["incident"]["timeline"].append({"at": T0 + 200, "text": "update posted"})
    assert board_answer([raw], now=NOW)["digest"] != a["digest"]


def test_a_state_with_unknown_fields_still_renders():
    raw = _raw()
    raw["incident"]["something_new"] = {"x": 1}
    raw["incident"]["findings"][next(iter(raw["incident"]["findings"]))].pop("title")
    assert "checkout" in _board(raw)


def test_ago():
    assert ago(NOW - 5, NOW) == "just now"
    assert ago(NOW - 240, NOW) == "4 min ago"
    assert ago(NOW - 3 * 3600 - 120, NOW) == "3 h 2 min ago"
    assert ago(NOW + 300, NOW) == "in 5 min"


def test_a_resolved_incident_moves_to_recent_and_can_be_closed():
    raw = _raw(status="resolved", resolved_at=T0 + 600, report_text="Resolved after 5 clean windows.")
    view = console_view([raw], now=NOW)
    assert view["open"] == 0 and view["recent"][0]["status"] == "resolved"
    html = render_board(view, NOW)
    recent = html[html.index('<section id="recent">'):]
    assert ">RESOLVED<" in recent and 'data-act="close"' in recent and "Resolution report" in recent
    assert 'data-act="resolve"' not in html and "No open incidents." in html
