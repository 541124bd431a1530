"""The replay's report as a person reads it: words, not event and outbox kinds; pages and
tickets in the order they went out; what a one-off error was."""

from __future__ import annotations

from streams.replay.report import render_markdown

T = 1795446060.0  # 2026-11-23 15:01:00 UTC


def _report():
    pages = [{"at": T + 720, "kind": "resolved", "title": "Resolved: TimeoutError on search-1"},
             {"at": T, "kind": "alert", "title": "[P2] search-1: TimeoutError"}]
    tickets = [{"at": T + 60, "kind": "ticket_create", "title": "TimeoutError on search-1"}]
    incident = {"incident_id": "search-1-20261123T1500Z-1", "title": "TimeoutError on search-1", "service": "search-1",
                "severity": "P2", "opened_at": T, "resolved_at": T + 660, "window_start": T - 60,
                "timeline": [{"at": T, "type": "opened"}, {"at": T + 60, "type": "registry_added"},
                             {"at": T + 660, "type": "resolved"}],
                "findings": [{"fingerprint": "fp1:abc", "error_type": "TimeoutError", "endpoint": "GET /q",
                              "level": "error", "count": 4, "samples": []}],
                "pages": pages, "tickets": tickets, "lines_around_start": []}
    return {"replay_id": "r", "source": "day.log", "lines": 10, "seconds": 1.0, "lines_per_s": 10.0,
            "incidents": [incident],
            "oneoffs": [{"at": T + 30, "service": "checkout-1", "fingerprint": "fp1:def"}],
            "notifications": [{"at": T + 30, "kind": "oneoff_ticket", "service": "checkout-1",
                               "title": "One-off: unexpected coupon format on checkout-1"}]}


def test_the_report_says_what_happened_in_words_in_the_order_it_went_out():
    text = render_markdown(_report())
    assert "- 1 incident, 2 pages, 1 ticket, 1 one-off ticket" in text
    assert "- 2026-11-23 15:02:00 registry added" in text and "registry_added" not in text
    sent = text.split("### Pages and tickets")[1].split("\n\n")[1].splitlines()
    assert sent == ["- 2026-11-23 15:01:00 first alert: [P2] search-1: TimeoutError",
                    "- 2026-11-23 15:02:00 ticket opened: TimeoutError on search-1",
                    "- 2026-11-23 15:13:00 resolution: Resolved: TimeoutError on search-1"]
    assert "- 2026-11-23 15:01:30 checkout-1: One-off: unexpected coupon format on checkout-1" in text
    # The fingerprint stays (it joins the report to incidents.events), after the words.
    assert "- TimeoutError GET /q (error, 4 at first; fingerprint `fp1:abc`)" in text
