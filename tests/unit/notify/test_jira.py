"""Jira: create with priority and label, comments in ADF, transition to done by name,
search by label before creating."""

from __future__ import annotations

import base64

from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import JIRA_EMAIL, JIRA_TOKEN, all_channels_config


async def test_create_request_is_exact(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    [receipt] = await notifier.deliver(message("ticket_create", severity="P1", labels=["checkout api"]))
    search, create = vendors.jira.requests
    auth = "Basic " + base64.b64encode(f"{JIRA_EMAIL}:{JIRA_TOKEN}".encode()).decode()
    assert (search.method, search.path, search.headers["authorization"]) == ("GET", "/rest/api/3/search/jql", auth)
    assert search.query["jql"] == 'labels = "logwarden-inc-checkout-1" ORDER BY created ASC'
    assert (create.method, create.path) == ("POST", "/rest/api/3/issue")
    fields = create.json()["fields"]
    assert fields["project"] == {"key": "OPS"} and fields["issuetype"] == {"name": "Bug"}
    assert fields["priority"] == {"name": "Highest"}
    assert fields["labels"] == ["checkout-api", "logwarden-inc-checkout-1"]
    assert fields["description"]["type"] == "doc"
    assert receipt.external_ref == "OPS-1"


async def test_oneoff_is_low_priority_and_goes_to_jira_only(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    [receipt] = await notifier.deliver(message("oneoff_ticket", incident_id="", severity="P3",
                                               fields={"fingerprint": "fp1:abc"}))
    assert receipt.channel == "jira"
    issue = vendors.jira.issues["OPS-1"]["fields"]
    assert issue["priority"] == {"name": "Low"} and issue["labels"] == ["logwarden-fp1:abc"]
    assert not vendors.slack.requests and not vendors.telegram.requests


async def test_lifecycle_creates_comments_and_resolves_once(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    await notifier.deliver(message("ticket_create"))
    await notifier.deliver(message("ticket_comment", key="c1", body="Reappeared on /checkout."))
    await notifier.deliver(message("ticket_resolve", key="r1", body="Resolved after 5 clean windows."))
    [issue] = vendors.jira.issues.values()
    assert len(issue["comments"]) == 2 and issue["status"] == "Done" and issue["transitions"] == 1
    assert issue["comments"][0]["content"][1]["content"][0]["text"] == "Reappeared on /checkout."
    transition_post = [r for r in vendors.jira.requests if r.method == "POST" and r.path.endswith("/transitions")]
    assert [r.json() for r in transition_post] == [{"transition": {"id": "31"}}]


async def test_missing_done_status_is_a_permanent_failure_with_a_clear_reason(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config(jira={"done_status": "Closed"}))
    await notifier.deliver(message("ticket_create"))
    [receipt] = await notifier.deliver(message("ticket_resolve", key="r1"))
    assert receipt.status == "failed" and receipt.attempts == 1
    assert receipt.error == "jira_no_transition: no transition to 'Closed' from 'To Do'"


async def test_registry_ticket_key_gets_the_comment(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    await notifier.deliver(message("ticket_create", incident_id="old-incident"))
    [receipt] = await notifier.deliver(message("ticket_comment", key="c9", incident_id="new-incident",
                                               fields={"ticket_key": "OPS-1"}))
    assert receipt.external_ref == "OPS-1" and len(vendors.jira.issues) == 1
    assert len(vendors.jira.issues["OPS-1"]["comments"]) == 1


async def test_an_escalation_comment_raises_the_issue_priority(make_notifier, vendors):
    """The reducer's escalation comment carries the raised severity; Jira's Edit issue
    (PUT /rest/api/3/issue/{key}, 204) sets the priority mapped to it (P1 -> Highest)."""
    notifier = make_notifier(**all_channels_config())
    await notifier.deliver(message("ticket_create", severity="P2"))
    assert vendors.jira.issues["OPS-1"]["fields"]["priority"] == {"name": "High"}
    [receipt] = await notifier.deliver(message(
        "ticket_comment", key="e1", severity="P2", body="Escalated by slack:U123: restart did not help.",
        fields={"priority": "P1", "priority_raised": "true", "escalated": "true"}))
    assert receipt.status == "delivered"
    edit = [r for r in vendors.jira.requests if r.method == "PUT"]
    assert [(r.path, r.json()) for r in edit] == [("/rest/api/3/issue/OPS-1", {"fields": {"priority": {"name": "Highest"}}})]
    assert vendors.jira.issues["OPS-1"]["fields"]["priority"] == {"name": "Highest"}
    assert len(vendors.jira.issues["OPS-1"]["comments"]) == 1
