"""The resolution report says what the timeline says (issue #13, last review)."""

from __future__ import annotations

from agents.incidents.narrative import narrative_input, render_report
from agents.incidents.state import Incident
from agents.local_ai.narrative import narrate_locally
from schemas.records import Finding

T0 = 1772445600.0  # 2026-03-02T10:00:00Z


def _resolved() -> Incident:
    finding = Finding(fingerprint="fp1:0a1b2c3d4e5f60718293", service="orders", endpoint="POST /v1/orders",
                      error_type="psycopg2.OperationalError", count=21, first_seen=T0 + 61, last_seen=T0 + 119,
                      template="psycopg2.OperationalError: could not connect to server: Connection refused",
                      title="psycopg2.OperationalError: could not connect to server: Connection refused",
                      samples=["psycopg2.OperationalError: could not connect to server: Connection refused"])
    # Errors in minute 1, clean minutes 2-6: resolved at the end of minute 6 after 5 clean windows.
    return Incident(incident_id="orders-20260302T1001Z-1", service="orders", status="resolved",
                    title="psycopg2.OperationalError at POST /v1/orders on orders", severity="P1",
                    opened_at=T0 + 120, resolved_at=T0 + 420, resolved_clean_windows=5, last_issue_at=T0 + 120,
                    windows_with_errors=1, findings={finding.fingerprint: finding},
                    timeline=[{"at": T0 + 420, "text": "resolved after 5 clean windows in a row"}])


def test_a_report_written_a_window_later_still_says_the_streak_that_resolved_it():
    incident = _resolved()
    # The report is asked for at resolution; the built-in answer comes a window later
    # (an AI timeout), when the service's clean streak has grown to 6.
    report = narrate_locally("report", narrative_input(incident, T0 + 480, clean_streak=6))
    assert "after 5 min and 5 clean windows in a row" in report.text
    assert "6 clean windows" not in report.text


def test_the_report_file_names_findings_by_what_they_are():
    text = render_report(_resolved())
    assert text.startswith("# psycopg2.OperationalError at POST /v1/orders on orders\n")
    row = next(line for line in text.splitlines() if line.startswith("| psycopg2"))
    assert row.startswith("| psycopg2.OperationalError | POST /v1/orders | psycopg2.OperationalError: could not")
    assert "psycopg2.OperationalError at POST /v1/orders:" in text  # the sample's heading, not its fingerprint


def test_the_reports_duration_is_the_narratives_whole_minutes():
    # Opened 10 min 50 s before it resolved: the header said "11 min" (rounded) above a
    # narrative that said "after 10 min" (whole minutes). Both say 10 min now.
    incident = Incident(incident_id="orders-20260302T1001Z-1", service="orders", status="resolved",
                        opened_at=1_000_000.0, resolved_at=1_000_650.0, last_issue_at=1_000_100.0, title="t")
    assert "- Duration: 10 min\n" in render_report(incident)


def test_the_report_says_how_often_the_incident_reopened_in_words():
    incident = _resolved()
    assert "- Reopened: never\n" in render_report(incident)
    assert "- Reopened: once\n" in render_report(incident.model_copy(update={"reopen_count": 1}))
    assert "- Reopened: 3 times\n" in render_report(incident.model_copy(update={"reopen_count": 3}))
