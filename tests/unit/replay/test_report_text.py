"""The replay's report as a person reads it: words, not event and outbox kinds; pages and
tickets in the order they went out; what a one-off error was."""

from __future__ import annotations

from pathlib import Path

from streams.replay.report import render_markdown

DATA = Path(__file__).resolve().parents[2] / "data" / "incidents"
T = 1795446060.0  # 2026-11-23 15:01:00 UTC


def _report():
    pages = [{"at": T + 720, "kind": "resolved", "title": "Resolved: TimeoutError on search-1"},
             {"at": T, "kind": "alert", "title": "[P2] search-1: TimeoutError"}]
    tickets = [{"at": T + 60, "kind": "ticket_create", "title": "TimeoutError on search-1"}]
    incident = {"incident_id": "search-1-20261123T1500Z-1", "title": "TimeoutError on search-1", "service": "search-1",
                "severity": "P2", "opened_at": T, "resolved_at": T + 660, "window_start": T - 60,
                "timeline": [{"at": T, "type": "opened"},
                             {"at": T + 60, "type": "registry_added", "data": {"fingerprint": "fp1:abc"}},
                             {"at": T + 660, "type": "resolved", "data": {"clean_windows": 5, "by": "logwarden"}}],
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
    assert "- 2026-11-23 15:02:00 known issue recorded: TimeoutError at GET /q" in text
    assert "- 2026-11-23 15:12:00 resolved: 5 clean minutes in a row" in text
    sent = text.split("### Pages and tickets")[1].split("\n\n")[1].splitlines()
    assert sent == ["- 2026-11-23 15:01:00 first alert: [P2] search-1: TimeoutError",
                    "- 2026-11-23 15:02:00 ticket opened: TimeoutError on search-1",
                    "- 2026-11-23 15:13:00 resolution: Resolved: TimeoutError on search-1"]
    assert "- 2026-11-23 15:01:30 checkout-1: One-off: unexpected coupon format on checkout-1" in text
    assert "- TimeoutError at GET /q: 4 times in its first minute (error)" in text
    # Machine tokens stay in report.json (fingerprints join it to incidents.events), not here.
    assert "fp1:" not in text and "registry" not in text and "_" not in text


def test_a_traceback_sample_reads_as_the_log_had_it_and_a_one_line_sample_stays_whole():
    # Read back with a CommonMark parser, as a Markdown viewer shows report.md.
    from markdown_it import MarkdownIt

    traceback = (DATA / "python_exc.log").read_text()
    one_line = "KeyError: `coupon` not in payload"  # a backtick of its own
    report = _report()
    report["incidents"][0]["findings"][0]["samples"] = [traceback, one_line]
    tokens = MarkdownIt("commonmark").parse(render_markdown(report))
    blocks = [t.content for t in tokens if t.type == "fence"]
    assert blocks == [traceback if traceback.endswith("\n") else traceback + "\n"]  # 8 lines, whole
    spans = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "code_inline"]
    assert one_line in spans
    inline = [t.content for t in tokens if t.type == "inline"]
    assert "TimeoutError at GET /q: 4 times in its first minute (error)" in inline  # intact around them


def test_a_long_traceback_is_cut_to_its_first_lines_and_says_so():
    from markdown_it import MarkdownIt

    lines = [f'  File "/app/svc/handler_{i}.py", line {i}, in call' for i in range(40)]
    report = _report()
    report["incidents"][0]["findings"][0]["samples"] = ["Traceback (most recent call last):\n" + "\n".join(lines)]
    text = render_markdown(report)
    (block,) = [t.content for t in MarkdownIt("commonmark").parse(text) if t.type == "fence"]
    assert block.splitlines() == ["Traceback (most recent call last):", *lines[:14]]  # 15 lines of 41
    assert "  - sample, 41 lines, the first 15:" in text


def test_samples_alike_but_for_their_numbers_are_shown_once_and_the_first_alert_says_so():
    from markdown_it import MarkdownIt

    traceback = (DATA / "python_exc.log").read_text()
    again = traceback.replace("line ", "line 1")  # the same trace, other line numbers
    report = _report()
    report["incidents"][0]["findings"][0]["samples"] = [traceback, again, "KeyError: 'coupon'"]
    report["incidents"][0]["timeline"].insert(1, {"at": T, "type": "update_posted", "data": {"kind": "alert"}})
    text = render_markdown(report)
    blocks = [t.content for t in MarkdownIt("commonmark").parse(text) if t.type == "fence"]
    assert len(blocks) == 1  # two traces alike, one shown
    assert "  - and 1 more like these but for their numbers" in text
    assert "KeyError: 'coupon'" in text  # a different sample still shown
    assert "- 2026-11-23 15:01:00 first alert sent" in text and "update posted" not in text


def test_every_incident_event_reads_as_words_not_as_its_type():
    from schemas.contract import EVENT_TYPES
    from streams.replay.report import _event_words

    values = {"fingerprint": "fp1:abc", "runbook": "restart_service", "actor": "ana", "via": "slack",
              "reason": "not_an_approver", "status": "ok", "text": "rolled back", "from": "P3", "to": "P2",
              "kind": "alert", "clean_windows": 5, "by": "logwarden", "verify_window_s": 300}
    for kind, (_meaning, keys) in EVENT_TYPES.items():
        if kind in ("digest", "oneoff_ticketed"):  # not an incident's: the report lists them apart
            continue
        words = _event_words({"type": kind, "data": {k: values.get(k, 1) for k in keys}},
                             {"fp1:abc": "TimeoutError at GET /q"})
        assert words != kind.replace("_", " "), kind
        assert "fp1:" not in words and ("_" not in kind or kind not in words), (kind, words)
