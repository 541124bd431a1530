"""The notifier: default routing, one receipt per channel, the retry loop's limits, a
failing channel not blocking the others, metrics, and the store discipline."""

from __future__ import annotations

import copy

import httpx
import pytest
from prometheus_client import REGISTRY

from agents.notify.config import NotifyConfig
from agents.notify.routing import route
from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import all_channels_config


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("kind,severity,expected", [
    ("alert", "P1", ["telegram", "pagerduty"]),
    ("resolved", "P1", ["telegram", "pagerduty"]),
    ("alert", "P2", ["slack"]),
    ("update", "P3", ["slack"]),
    ("digest", "", ["slack"]),
    ("oneoff_ticket", "P3", ["jira"]),
    ("ticket_comment", "P1", ["jira"]),
])
def test_default_routes(kind, severity, expected):
    cfg = NotifyConfig.model_validate(all_channels_config())
    assert route(message(kind, severity=severity), cfg, cfg.configured_channels()) == expected


def test_routes_by_service_and_fallback_when_routed_channels_are_not_set_up():
    cfg = NotifyConfig.model_validate({
        "slack": {"webhook_url": "https://hooks.slack.test/x"},
        "routes": [{"services": ["pay*"], "kinds": ["alert"], "channels": ["discord"]},
                   {"kinds": ["alert"], "channels": ["slack"]}]})
    configured = cfg.configured_channels()
    assert route(message(service="payments"), cfg, configured) == ["console"]  # discord not set up
    assert route(message(service="checkout"), cfg, configured) == ["slack"]
    assert route(message("digest"), cfg, configured) == ["console"]  # no rule matched


def test_a_route_naming_an_unknown_channel_is_rejected_at_load():
    with pytest.raises(ValueError, match="unknown channel"):
        NotifyConfig.model_validate({"routes": [{"channels": ["sms"]}]})


async def test_a_failing_channel_neither_blocks_nor_hides_the_others(make_notifier, vendors, clock):
    notifier = make_notifier(**all_channels_config())
    vendors.telegram.script = [vendors.telegram.error(502)] * 50
    receipts = await notifier.deliver(message(severity="P1"))
    by_channel = {r.channel: r for r in receipts}
    assert by_channel["pagerduty"].status == "delivered" and by_channel["pagerduty"].attempts == 1
    assert by_channel["telegram"].status == "failed" and by_channel["telegram"].attempts == 8
    assert by_channel["telegram"].error.startswith("http_502")
    [letter] = notifier.failed_dead_letters(message(severity="P1"), receipts)
    assert letter.stage == "notify" and letter.reason == "http_502"
    assert '"channels":["telegram"]' in letter.payload  # a replay retries only what failed


async def test_backoff_is_capped_exponential_with_full_jitter(make_notifier, vendors, clock):
    notifier = make_notifier(rng=lambda: 1.0, **all_channels_config(retry={"base_s": 1, "cap_s": 8, "max_attempts": 6}))
    vendors.pagerduty.script = [vendors.pagerduty.error(503)] * 10
    [receipt] = await notifier.deliver(message(channels=["pagerduty"]))
    assert receipt.attempts == 6
    retry_sleeps = [s for s in clock.sleeps if s not in (0,)]
    # rng()=1 shows the ceilings; the 2/s rate limit never exceeds them here.
    assert retry_sleeps == [1, 2, 4, 8, 8]


async def test_deadline_stops_the_loop_and_a_long_retry_after_is_not_waited(make_notifier, vendors, clock):
    notifier = make_notifier(**all_channels_config(retry={"deadline_s": 10, "max_retry_after_s": 60}))
    vendors.pagerduty.script = [vendors.pagerduty.error(500)] * 50
    [slow] = await notifier.deliver(message(channels=["pagerduty"]))
    assert slow.status == "failed" and sum(clock.sleeps) <= 10
    vendors.telegram.script = [httpx.Response(429, json={"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3600",
                                                         "parameters": {"retry_after": 3600}})]
    [limited] = await notifier.deliver(message(key="k2", channels=["telegram"]))
    assert (limited.status, limited.attempts, limited.error.split(":")[0]) == ("failed", 1, "http_429")


async def test_metrics_count_sent_failed_retries_and_latency(make_notifier, vendors, clock):
    before = {"sent": _metric("logwarden_notify_sent_total", channel="pagerduty", kind="alert"),
              "failed": _metric("logwarden_notify_failed_total", channel="ntfy", reason="http_403"),
              "retries": _metric("logwarden_notify_retries_total", channel="pagerduty", reason="http_503"),
              "latency": _metric("logwarden_notify_delivery_seconds_count", channel="pagerduty")}
    notifier = make_notifier(**all_channels_config())
    vendors.pagerduty.script = [vendors.pagerduty.error(503)]
    vendors.ntfy.script = [vendors.ntfy.error(403)]
    await notifier.deliver(message(channels=["pagerduty", "ntfy"]))
    assert _metric("logwarden_notify_sent_total", channel="pagerduty", kind="alert") == before["sent"] + 1
    assert _metric("logwarden_notify_failed_total", channel="ntfy", reason="http_403") == before["failed"] + 1
    assert _metric("logwarden_notify_retries_total", channel="pagerduty", reason="http_503") == before["retries"] + 1
    assert _metric("logwarden_notify_delivery_seconds_count", channel="pagerduty") == before["latency"] + 1


class AssignOnlyStore(dict):
    """Fails the test if a stored value is changed in place (a Faust table would not
    changelog that change)."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.snapshots = getattr(self, "snapshots", {})
        self.snapshots[key] = copy.deepcopy(value)

    def verify(self):
        for key, value in self.items():
            assert value == self.snapshots[key], f"{key} was mutated in place"


async def test_store_values_are_only_ever_reassigned(make_notifier, vendors):
    store = AssignOnlyStore()
    notifier = make_notifier(store=store, **all_channels_config())
    for n, kind in enumerate(["alert", "update", "resolved"]):
        await notifier.deliver(message(kind, key=f"k{n}", severity="P1"))
    await notifier.deliver(message("ticket_create", key="t0"))
    await notifier.deliver(message("ticket_resolve", key="t1"))
    store.verify()
    assert store["memory|telegram|inc-checkout-1"]["data"] == {"message_id": "101"}
    assert store["memory|jira|inc-checkout-1"]["data"] == {"issue_key": "OPS-1"}


async def test_delivered_keys_expire_after_their_ttl(make_notifier, vendors, clock):
    store: dict = {}
    notifier = make_notifier(store=store, **all_channels_config(delivered_ttl_s=3600, memory_ttl_s=7200))
    await notifier.deliver(message(channels=["pagerduty"]))
    clock.now += 3601
    assert notifier.expire() == 1  # the delivered key; the memory is younger than its TTL
    [again] = await notifier.deliver(message(channels=["pagerduty"]))
    assert again.status == "delivered"  # past the TTL a redelivery sends again
