"""PagerDuty Events v2: exact trigger request, acknowledge, resolve, one dedup_key."""

from __future__ import annotations

from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import PD_ROUTING_KEY, all_channels_config


async def test_trigger_acknowledge_resolve_share_the_incident_dedup_key(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    await notifier.deliver(message("alert", severity="P1", channels=["pagerduty"]))
    await notifier.deliver(message("update", key="ack", severity="P1", fields={"pagerduty_action": "acknowledge"},
                                   channels=["pagerduty"]))
    assert vendors.pagerduty.incidents["inc-checkout-1"]["status"] == "acknowledged"
    [receipt] = await notifier.deliver(message("resolved", key="res", severity="P1", channels=["pagerduty"]))
    trigger = vendors.pagerduty.requests[0]
    assert (trigger.method, trigger.path) == ("POST", "/v2/enqueue")
    event = trigger.json()
    assert event["routing_key"] == PD_ROUTING_KEY and event["event_action"] == "trigger"
    assert event["dedup_key"] == "inc-checkout-1"
    assert event["payload"]["severity"] == "critical" and event["payload"]["source"] == "checkout"
    assert event["payload"]["timestamp"] == "2024-10-06T07:42:07+00:00"
    assert event["links"][0] == {"href": "https://acme.atlassian.test/browse/OPS-1", "text": "Ticket"}
    assert [r.json() for r in vendors.pagerduty.requests[2:]] == [
        {"routing_key": PD_ROUTING_KEY, "event_action": "resolve", "dedup_key": "inc-checkout-1"}]
    assert vendors.pagerduty.incidents == {"inc-checkout-1": {"status": "resolved", "events": 3}}
    assert receipt.external_ref == "inc-checkout-1"


async def test_invalid_event_is_permanent_and_explains(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config(pagerduty={"routing_key": "too-short"}))
    [receipt] = await notifier.deliver(message(channels=["pagerduty"]))
    assert receipt.status == "failed" and receipt.attempts == 1
    assert receipt.error == "http_400: HTTP 400: 'routing_key' must be 32 characters"
