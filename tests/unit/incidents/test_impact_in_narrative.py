"""Why an incident is this severe is said in the first lines of what on-call reads: the
first alert, the updates, the resolution report and what a model is asked to write them
from, not only in the timeline at the bottom.

Expected values are the impact rules' arithmetic on the planted counts and their
documented defaults (`[incidents.severity]`, ops/CONFIG.md): half or more of a write
path's requests failing is P1, of a read path P2.
"""

from __future__ import annotations

from agents.ai.prompting import build_prompt
from agents.incidents.narrative import narrative_input, render_report
from agents.local_ai.narrative import narrate_locally
from agents.notify.render import email_parts, plain_text, slack_payload, telegram_html
from schemas.records import AIRequest, Finding, OutboxMessage, RouteCount, WindowSummary
from tests.unit.incidents.scenario_runner import ScenarioPlayer

START = "2026-12-02T03:00:00Z"
AT = 1_796_180_400.0  # START as a timestamp

READ, WRITE = "GET /v1/orders/{id}", "POST /v1/payments"
# 90 of 100 reads failing is 90 % of a read path (P2); 45 of 60 payments is 75 % of a
# write path (P1): the payments are why it pages P1, though the reads fail more often.
WRITE_IMPACT = "45 of 60 requests to POST /v1/payments failed in one minute (75%, write path)"


def _finding(endpoint: str, count: int) -> Finding:
    title = "ValueError: invalid literal for int() with base 10: 'abc'"
    return Finding(fingerprint=f"fp1:{endpoint}", service="orders", endpoint=endpoint, error_type="ValueError",
                   level="error", count=count, template=title, title=title, first_seen=AT, last_seen=AT,
                   samples=[title])


def _play(routes: dict[str, RouteCount], findings: list[Finding]) -> ScenarioPlayer:
    player = ScenarioPlayer({"start": START, "service": "orders", "timeline": []})
    player.feed(WindowSummary(id=f"orders|{AT:.0f}|1", service="orders", window_start=AT, window_end=AT + 60,
                              status="errors", lines=2000, errors=sum(f.count for f in findings),
                              findings=findings, routes=routes))
    return player


def _both_failing() -> ScenarioPlayer:
    return _play({READ: RouteCount(requests=100, failed=90), WRITE: RouteCount(requests=60, failed=45)},
                 [_finding(READ, 90), _finding(WRITE, 45)])


def test_the_first_alert_says_the_impact_that_made_it_p1_under_its_first_line():
    player = _both_failing()
    alert = next(m for m in player.run.records(OutboxMessage) if m.kind == "alert")
    assert alert.severity == "P1"
    lines = alert.body.splitlines()
    assert lines[1] == f"Impact: {WRITE_IMPACT}."
    assert sum(line.startswith("Impact:") for line in lines) == 1  # one line: the worst finding's


def test_every_channel_shows_the_impact_line_of_the_first_alert():
    alert = next(m for m in _both_failing().run.records(OutboxMessage) if m.kind == "alert")
    slack = slack_payload(alert)["blocks"][1]["text"]["text"]
    _subject, text_part, html_part = email_parts(alert)
    for rendered in (slack, telegram_html(alert), text_part, html_part, plain_text(alert)):
        assert f"Impact: {WRITE_IMPACT}." in rendered


def test_updates_and_the_resolution_report_open_with_the_same_impact():
    incident = _both_failing().run.states["orders"].incident
    assert incident is not None
    update = narrate_locally("update", narrative_input(incident, AT + 360, clean_streak=0))
    assert update.text.splitlines()[1] == f"Impact: {WRITE_IMPACT}."
    resolved = incident.model_copy(update={"status": "resolved", "resolved_at": AT + 420,
                                           "resolved_clean_windows": 5})
    report = narrate_locally("report", narrative_input(resolved, AT + 420, clean_streak=5))
    assert report.text.splitlines()[1] == f"Impact: {WRITE_IMPACT}."
    # The report file keeps it at the top of its "Report" section.
    page = render_report(resolved.model_copy(update={"report_text": report.text}))
    after_heading = page.split("## Report\n\n", 1)[1].splitlines()
    assert after_heading[1] == f"Impact: {WRITE_IMPACT}."


def test_a_model_writing_the_first_alert_is_given_the_impact_and_told_to_say_it():
    request = next(r for r in _both_failing().run.records(AIRequest) if r.payload.get("incident"))
    assert request.payload["incident"]["impact"] == WRITE_IMPACT
    prompt = build_prompt(request.task, request.payload, {})
    assert WRITE_IMPACT in prompt.user and '"Impact: "' in prompt.user
    summary = build_prompt("summary", request.payload["incident"], {})
    assert WRITE_IMPACT in summary.user and '"Impact: "' in summary.user


def test_an_incident_without_access_log_counts_has_no_impact_line():
    # 12 errors in 2,000 lines, no access log for the route: no rule says how much it
    # hurts, so the severity is the classification's and no impact line explains it.
    player = _play({}, [_finding(WRITE, 12)])
    alert = next(m for m in player.run.records(OutboxMessage) if m.kind == "alert")
    assert "Impact" not in alert.body
    assert alert.body.splitlines()[1] == ""  # the intro, then the facts: no empty "Impact:" line
