"""Incidents to Slack (bot mode), Jira and PagerDuty, through a real worker on both real
brokers, against real HTTP fakes of the three vendor APIs (tests/e2e/fakes.py).

What a user would see: one Slack message per incident that is then edited and threaded,
one Jira issue per incident that gets the report and ends Done, PagerDuty triggered and
resolved under the incident id; a 429 from Slack is waited out, and a worker killed by
SIGKILL right after its first deliveries creates no second Jira issue when restarted.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from tests.e2e.fakes import FakeJira, FakePagerDuty, FakeSlack
from tests.e2e.harness import NO_TICKS, WorkerProcess, base_env, ensure_topics, minute_lines, produce, read_json, wait_for

pytestmark = pytest.mark.broker

SLACK_TOKEN = "xoxb-e2e-0000000000-slack-bot-token"
JIRA_EMAIL, JIRA_TOKEN = "oncall@example.com", "ATATT3xFfGF0-e2e-jira-api-token"
PD_KEY = "R0e2e0000000000000000000000000pd"
SECRETS = (SLACK_TOKEN, JIRA_TOKEN, PD_KEY)

P1_SERVICE, P2_SERVICE = "payments", "orders"
# A fatal line: the local classifier makes it P1 (on-call: PagerDuty and Slack).
FATAL = json.dumps({"ts": "{ts}", "level": "fatal", "service": P1_SERVICE, "logger": "payments.ledger",
                    "msg": "FATAL: could not connect to ledger database: connection refused"})
# An error line with a traceback: P2 (Slack only).
ERROR = json.dumps({
    "ts": "{ts}", "levelname": "ERROR", "service": P2_SERVICE, "name": "orders.db",
    "message": "GET /api/orders/88123 failed",
    "exc_info": "Traceback (most recent call last):\n  File \"/srv/orders/db.py\", line 41, in fetch\n"
                "    return pool.query(sql)\npsycopg2.OperationalError: could not connect to server",
})
ROUTES = ('[{kinds = ["ticket_create", "ticket_comment", "ticket_resolve", "oneoff_ticket"], channels = ["jira"]},'
          ' {kinds = ["alert", "update", "resolved"], severities = ["P1"], channels = ["pagerduty", "slack"]},'
          ' {kinds = ["alert", "update", "resolved"], channels = ["slack"]}]')


@pytest.fixture
def vendors():
    with FakeSlack(SLACK_TOKEN) as slack, FakeJira(JIRA_EMAIL, JIRA_TOKEN) as jira, \
            FakePagerDuty(PD_KEY) as pagerduty:
        yield slack, jira, pagerduty


def notify_env(tmp_path, bootstrap, app_id, slack, jira, pagerduty) -> dict[str, str]:
    return base_env(
        tmp_path, bootstrap, app_id, LOGWARDEN_STAGES=NO_TICKS,
        LOGWARDEN_NOTIFY__ROUTES=ROUTES,
        LOGWARDEN_NOTIFY__SLACK__BOT_TOKEN=SLACK_TOKEN, LOGWARDEN_NOTIFY__SLACK__API_BASE=slack.api_base,
        LOGWARDEN_NOTIFY__SLACK__CHANNEL="#backend-alerts",
        LOGWARDEN_NOTIFY__JIRA__BASE_URL=jira.url, LOGWARDEN_NOTIFY__JIRA__EMAIL=JIRA_EMAIL,
        LOGWARDEN_NOTIFY__JIRA__API_TOKEN=JIRA_TOKEN, LOGWARDEN_NOTIFY__JIRA__PROJECT="OPS",
        LOGWARDEN_NOTIFY__PAGERDUTY__ROUTING_KEY=PD_KEY,
        LOGWARDEN_NOTIFY__PAGERDUTY__EVENTS_URL=pagerduty.events_url,
    )


def history(service: str, t0: float, minutes: range, error_minutes: range, error: str):
    lines = []
    for m in minutes:
        lines += minute_lines(service, t0, m, errors=[error] * 5 if m in error_minutes else None)
    return lines


def opened_ids(bootstrap: str) -> dict[str, str]:
    return {e["service"]: e["incident_id"] for e in read_json(bootstrap, "incidents.events") if e["type"] == "opened"}


def delivered(receipts: list[dict], incident_id: str, kind: str, channel: str) -> bool:
    return any(r["incident_id"] == incident_id and r["kind"] == kind and r["channel"] == channel
               and r["status"] == "delivered" for r in receipts)


def assert_no_secret_in_logs(*workers: WorkerProcess) -> None:
    for worker in workers:
        text = worker.log.read_text(errors="replace")
        for secret in SECRETS:
            assert secret not in text, f"a secret leaked into {worker.log.name}"


def assert_one_done_issue_per_incident(jira: FakeJira, incident_ids: list[str]) -> None:
    creates = jira.calls("POST", "/rest/api/3/issue")
    labels = Counter(label for c in creates for label in c.body["fields"]["labels"])
    for incident_id in incident_ids:
        label = f"logwarden-{incident_id}"
        assert labels[label] == 1, f"{label}: {labels[label]} issues created"
        (issue,) = [i for i in jira.issues.values() if label in i.fields["labels"]]
        assert issue.status == "Done"
        transitions = jira.calls("POST", f"/rest/api/3/issue/{issue.key}/transitions")
        assert [t.body for t in transitions] == [{"transition": {"id": "31"}}]
        # At least the resolution report; every comment carries its delivery footer once.
        footers = [json.dumps(c["body"]) for c in issue.comments]
        assert footers and all("logwarden delivery" in f for f in footers)
        keys = [f.split("logwarden delivery ")[1].split('"')[0] for f in footers]
        assert len(keys) == len(set(keys)), f"{issue.key}: a comment was posted twice: {keys}"
    # Each create was preceded by a label search that found nothing.
    searches = jira.calls("GET", "/rest/api/3/search/jql")
    for create in creates:
        label = next(lb for lb in create.body["fields"]["labels"] if lb.startswith("logwarden-"))
        assert any(label in s.query["jql"] and s.at < create.at for s in searches)


def assert_pagerduty_lifecycle(pagerduty: FakePagerDuty, incident_id: str) -> None:
    events = pagerduty.events()
    assert events, "nothing reached PagerDuty"
    assert {e["dedup_key"] for e in events} == {incident_id}
    actions = [e["event_action"] for e in events]
    assert actions[0] == "trigger" and actions[-1] == "resolve"
    assert actions.count("resolve") >= 1 and set(actions) <= {"trigger", "resolve"}
    assert events[0]["payload"]["severity"] == "critical" and events[0]["payload"]["source"] == P1_SERVICE


def test_incidents_reach_slack_jira_and_pagerduty_once_each(fresh_broker, tmp_path, vendors):
    slack, jira, pagerduty = vendors
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    # Slack's first answer is a rate limit: the message must still arrive, after the wait.
    slack.fail_next(1, status=429, retry_after=2)
    t0 = (time.time() // 60) * 60 - 3600
    # Errors in minutes 2-8 (open for more than 5 minutes: an update is due), then clean
    # minutes 9-13 resolve it; lines up to minute 16 move event time past the resolution.
    produce(bootstrap, sorted(history(P1_SERVICE, t0, range(17), range(2, 9), FATAL)
                              + history(P2_SERVICE, t0, range(17), range(2, 9), ERROR), key=lambda r: r[2]))
    worker = WorkerProcess(notify_env(tmp_path, bootstrap, "e2e-notify", slack, jira, pagerduty),
                           tmp_path / "run").start()
    try:
        def done(receipts):
            ids = opened_ids(bootstrap)
            return (len(ids) == 2 and delivered(receipts, ids[P1_SERVICE], "resolved", "pagerduty")
                    and delivered(receipts, ids[P2_SERVICE], "resolved", "slack")
                    and all(delivered(receipts, i, "ticket_resolve", "jira") for i in ids.values()))
        receipts = wait_for(bootstrap, "notify.receipts", done, timeout=150, worker=worker)
    finally:
        worker.stop()
    ids = opened_ids(bootstrap)
    p1, p2 = ids[P1_SERVICE], ids[P2_SERVICE]

    assert [r for r in receipts if r["status"] == "failed"] == []
    outbox = read_json(bootstrap, "notify.outbox")
    assert {o["severity"] for o in outbox if o["incident_id"] == p1 and o["kind"] == "alert"} == {"P1"}
    assert "P1" not in {o["severity"] for o in outbox if o["incident_id"] == p2 and o["kind"] == "alert"}
    # Every routed message has a delivered receipt on each of its channels.
    expected = {("jira", o["key"]) for o in outbox if o["kind"].startswith("ticket_")}
    expected |= {("slack", o["key"]) for o in outbox if o["kind"] in ("alert", "update", "resolved")}
    expected |= {("pagerduty", o["key"]) for o in outbox
                 if o["kind"] in ("alert", "update", "resolved") and o["incident_id"] == p1}
    got = {(r["channel"], r["key"]) for r in receipts if r["status"] == "delivered"}
    assert expected <= got
    assert {r["channel"] for r in receipts if r["incident_id"] == p2} == {"slack", "jira"}
    assert any(o["kind"] == "update" and o["incident_id"] == p1 for o in outbox), "no 5-minute update"

    # Slack: one top-level message per incident, then edits of it and replies in its thread.
    posts = slack.top_level_posts()
    assert len(posts) == 2
    first, retried = slack.requests[0], next(r for r in slack.requests if r.status == 200)
    assert first.status == 429 and retried.path == first.path and retried.body == first.body
    assert retried.at - first.at >= 2.0
    assert any(r["channel"] == "slack" and r["attempts"] == 2 and r["status"] == "delivered" for r in receipts)
    ts_of = {r["incident_id"]: r["external_ref"] for r in receipts
             if r["channel"] == "slack" and r["kind"] == "alert" and r["status"] == "delivered"}
    assert sorted(ts_of.values()) == sorted(p.response["ts"] for p in posts)
    for incident_id in (p1, p2):
        ts = ts_of[incident_id]
        later = [o for o in outbox if o["incident_id"] == incident_id and o["kind"] in ("update", "resolved")]
        updates = [u for u in slack.calls("POST", "/api/chat.update") if u.body["ts"] == ts]
        replies = [r for r in slack.replies() if r.body["thread_ts"] == ts]
        assert len(updates) == len(later) and len(replies) == len(later)
        assert all(u.body["channel"] == FakeSlack.CHANNEL_ID for u in updates)
        assert "RESOLVED" in updates[-1].body["text"]  # the top message says it is over
    assert all(r.headers["authorization"] == f"Bearer {SLACK_TOKEN}" for r in slack.requests)

    assert_one_done_issue_per_incident(jira, [p1, p2])
    assert len(jira.issues) == 2
    assert_pagerduty_lifecycle(pagerduty, p1)
    assert_no_secret_in_logs(worker)


def test_sigkill_after_first_deliveries_creates_no_second_issue(fresh_broker, tmp_path, vendors):
    slack, jira, pagerduty = vendors
    bootstrap = fresh_broker.bootstrap
    ensure_topics(bootstrap)
    env = notify_env(tmp_path, bootstrap, "e2e-notify-kill", slack, jira, pagerduty)
    t0 = (time.time() // 60) * 60 - 3600
    produce(bootstrap, history(P1_SERVICE, t0, range(5), range(2, 9), FATAL))
    worker = WorkerProcess(env, tmp_path / "run").start()
    deadline = time.monotonic() + 120
    while not (jira.issues and pagerduty.events()):
        assert time.monotonic() < deadline, f"no first deliveries:\n{worker.tail()}"
        assert worker.proc.poll() is None, f"worker died:\n{worker.tail()}"
        time.sleep(0.1)
    worker.kill()  # SIGKILL right after the first deliveries: no commit, no flush
    first_worker = worker

    produce(bootstrap, history(P1_SERVICE, t0, range(5, 17), range(2, 9), FATAL))
    worker = WorkerProcess(env, tmp_path / "run").start()
    try:
        def done(receipts):
            ids = opened_ids(bootstrap)
            return P1_SERVICE in ids and (delivered(receipts, ids[P1_SERVICE], "resolved", "pagerduty")
                                          and delivered(receipts, ids[P1_SERVICE], "ticket_resolve", "jira"))
        wait_for(bootstrap, "notify.receipts", done, timeout=150, worker=worker)
    finally:
        worker.stop()
    incident_id = opened_ids(bootstrap)[P1_SERVICE]
    assert len({e["incident_id"] for e in read_json(bootstrap, "incidents.events") if e["type"] == "opened"}) == 1
    assert len(jira.issues) == 1 and len(jira.calls("POST", "/rest/api/3/issue")) == 1
    assert_one_done_issue_per_incident(jira, [incident_id])
    assert_pagerduty_lifecycle(pagerduty, incident_id)
    assert_no_secret_in_logs(first_worker, worker)
