"""The local provider's answers (agents.local_ai): severity, one-off, match threshold, narratives, review."""

from __future__ import annotations

from agents.local_ai.classify import classify_locally
from agents.local_ai.match import match_locally
from agents.local_ai.narrative import narrate_locally
from agents.local_ai.review import review_locally
from schemas.ai_tasks import ClassifyInput, MatchInput, NarrativeInput, RegistryCandidate, ReviewInput
from tests.unit.ai.conftest import finding


def _classify(window_errors=None, window_lines=200, seen_before=0, **kw):
    f = finding(**kw)
    return classify_locally(ClassifyInput(service="api", finding=f, window_errors=window_errors or f.count,
                                          window_lines=window_lines, seen_before=seen_before))


def test_severity_follows_levels_statuses_and_error_rate():
    assert _classify(level="fatal", error_type="", template="rts panic! - stopping execution").severity == "P1"
    assert _classify(error_type="OutOfMemoryError", template="java.lang.OutOfMemoryError: Java heap space").severity == "P1"
    assert _classify(error_type="HTTP 503", count=12).severity == "P2"
    assert _classify(error_type="HTTP 404", template="GET <*> 404", count=30, samples=[]).severity == "P3"
    # Same 5xx, but most of the service's traffic fails: an outage.
    assert _classify(error_type="HTTP 500", count=150, window_errors=150, window_lines=160).severity == "P1"
    out = _classify(level="warning", error_type="", template="Interrupted while waiting for message on queue",
                    samples=[], count=3)
    assert out.severity == "P3"


def test_one_off_is_a_single_new_non_critical_error():
    assert _classify(count=1, seen_before=0).one_off is True
    assert _classify(count=1, seen_before=2).one_off is False
    assert _classify(count=5, seen_before=0).one_off is False
    assert _classify(count=1, level="critical").one_off is False


def test_category_and_cause_name_the_evidence():
    out = _classify(error_type="OperationalError", template="FATAL: too many connections for role <*>",
                    samples=[], endpoint="POST /orders")
    assert out.category == "database" and "POST /orders" in out.probable_cause
    assert _classify(error_type="", template="authentication failure; rhost=<*> user=root", samples=[],
                     endpoint="", count=40).category == "security"


def _candidate(entry_id, template, error_type="HTTP 503", endpoint="GET /users/{id}"):
    return RegistryCandidate(entry_id=entry_id, endpoint=endpoint, error_type=error_type, template=template,
                             jira_ticket_id="OPS-" + entry_id[-1])


def test_match_picks_the_similar_template_and_respects_the_threshold():
    f = finding(template="Connection to users-db at <*> refused after <*> ms", error_type="ConnectionError",
                endpoint="GET /users/{id}")
    candidates = [_candidate("api|GET /a|KeyError1", "KeyError: <*> in handler"),
                  _candidate("api|GET /users/{id}|ConnectionError2", "Connection to users-db at <*> refused",
                             error_type="ConnectionError", endpoint="GET /users")]
    out = match_locally(MatchInput(service="api", finding=f, candidates=candidates))
    assert out.entry_id == "api|GET /users/{id}|ConnectionError2" and "OPS-2" in out.note
    unrelated = match_locally(MatchInput(service="api", finding=f, candidates=candidates[:1]))
    assert unrelated.entry_id is None


def test_narratives_are_written_from_the_history():
    findings = [finding(count=12), finding(fingerprint="fp1:b", error_type="TimeoutError", count=3,
                                           endpoint="POST /pay", first_seen=1_700_000_030.0,
                                           last_seen=1_700_000_290.0)]
    inp = NarrativeInput(service="api", incident_id="inc-1", severity="P2", opened_at=1_700_000_000.0,
                         now=1_700_000_300.0, findings=findings, tickets=["OPS-12"], windows_with_errors=5,
                         timeline=[{"at": 1_700_000_000.0, "text": "opened"}])
    summary = narrate_locally("summary", inp)
    assert summary.title == "[P2] api: HTTP 503 at GET /users/{id}"  # the route a finding failed on
    assert "15 errors in 2 distinct signatures" in summary.text and "OPS-12" in summary.text
    assert "2023-11-14 22:13:20 UTC" in summary.text and "POST /pay" in summary.text
    update = narrate_locally("update", inp)
    assert "open for 5 min" in update.text and update.title.startswith("Update [P2]")
    report = narrate_locally("report", inp.model_copy(update={"resolved_at": 1_700_000_600.0, "clean_streak": 5}))
    assert report.title.startswith("Resolved [P2]") and "after 10 min and 5 clean windows" in report.text


def test_review_proposes_only_allowlisted_runbooks():
    report = "Pods crashed with OutOfMemoryError; seen before in OPS-3."
    out = review_locally(ReviewInput(service="api", incident_id="i", report=report, related_tickets=["OPS-3", "OPS-4"],
                                     runbooks=["restart-service", "scale-up"]))
    assert (out.fix_needed, out.runbook, out.related_tickets) == (True, "restart-service", ["OPS-3"])
    none = review_locally(ReviewInput(service="api", incident_id="i", report=report, runbooks=["scale-up"]))
    assert none.runbook is None


def test_the_count_line_reads_as_english_before_and_after_the_first_minute():
    """A fast-path page said "3 errors in 1 distinct signatures over 0 minute windows with errors"."""
    from agents.local_ai.narrative import _count_line

    assert _count_line(3, 1, 0) == ("- 3 errors in 1 distinct signature so far, before its first minute closed "
                                    "(a fatal line pages at once)")
    assert _count_line(1, 2, 1) == "- 1 error in 2 distinct signatures over 1 minute with errors"


def test_a_long_traceback_sample_keeps_its_exception_line():
    """An alert's sample ended "psycopg2.Operatio": cut at 300 characters, mid-word, the
    exception line lost."""
    from agents.local_ai.narrative import _sample

    frames = "".join(f'  File "/srv/payments/db/pool{i}.py", line {i}, in connect\n    return go()\n'
                     for i in range(8))
    tb = ("POST /v1/payments/9290 failed\nTraceback (most recent call last):\n" + frames
          + "psycopg2.OperationalError: could not connect to server: Connection refused")
    out = _sample(tb)
    assert len(out) <= 300
    assert out.startswith("POST /v1/payments/9290 failed\nTraceback (most recent call last):")
    assert out.endswith("\npsycopg2.OperationalError: could not connect to server: Connection refused")
    assert _sample("short line") == "short line"


def test_a_traceback_sample_reads_as_one_indented_block_under_its_signature():
    """A first alert read on call: "sample: POST /v1/payments/1197 failed" and under it the
    traceback at the left margin, as if it were the alert's own text."""
    tb = ("POST /v1/payments/1197 failed\nTraceback (most recent call last):\n"
          '  File "/srv/payments/api/views.py", line 88, in create_payment\n'
          "    charge = gateway.charge(order, card_token)\n"
          "psycopg2.OperationalError: could not connect to server: Connection refused")
    f = finding(count=4, samples=[tb])
    inp = NarrativeInput(service="payments", incident_id="inc-1", severity="P2", opened_at=1_700_000_060.0,
                         now=1_700_000_060.0, findings=[f], windows_with_errors=1)
    lines = narrate_locally("summary", inp).text.split("\n")
    at = lines.index("  sample:")
    block = lines[at + 1:at + 6]
    assert block == ["    " + line for line in tb.split("\n")]
    one = narrate_locally("summary", inp.model_copy(update={"findings": [finding(samples=["GET /x 503"])]}))
    assert "  sample: GET /x 503" in one.text.split("\n")


def test_the_first_alert_timeline_does_not_name_its_own_title_again():
    """"Timeline: incident opened; new finding: psycopg2.OperationalError at POST ..." under a
    title and a signature list that already said it; a finding added later stays."""
    f = finding(count=4)
    opened = 1_700_000_060.0
    timeline = [{"at": opened, "text": "incident opened"},
                {"at": opened, "text": f"new finding: {f.what}"},
                {"at": opened + 120, "text": "new finding: TimeoutError at POST /pay"}]
    inp = NarrativeInput(service="api", incident_id="inc-1", severity="P2", opened_at=opened,
                         now=opened + 120, findings=[f], windows_with_errors=3, timeline=timeline)
    text = narrate_locally("update", inp).text
    assert text.count(f.what) == 1  # in the signatures; the title above holds it too
    assert "- 2023-11-14 22:16:20 UTC: new finding: TimeoutError at POST /pay" in text
    assert "- 2023-11-14 22:14:20 UTC: incident opened" in text
