"""Redelivery: the same outbox records again (skipped), and a worker killed between
sending and committing (the store as it was when the request reached the vendor):
no duplicate where the vendor deduplicates, duplicates counted where it cannot."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import SLACK_BOT_TOKEN, all_channels_config

LIFECYCLE = [("alert", "P1"), ("update", "P1"), ("resolved", "P1"), ("alert", "P2"),
             ("ticket_create", "P2"), ("ticket_comment", "P2"), ("ticket_resolve", "P2"), ("digest", "")]


def _possible_duplicates(channel: str) -> float:
    return REGISTRY.get_sample_value("logwarden_notify_possible_duplicates_total", {"channel": channel}) or 0.0


async def test_same_records_twice_notify_once(make_notifier, vendors):
    store: dict = {}
    records = [message(kind, key=f"k{n}", severity=sev) for n, (kind, sev) in enumerate(LIFECYCLE)]
    first = make_notifier(store=store, **all_channels_config())
    for record in records:
        assert {r.status for r in await first.deliver(record)} == {"delivered"}
    calls = {name: len(vendors.by_channel(name).requests) for name in ("slack", "telegram", "jira", "pagerduty")}
    restarted = make_notifier(store=store, **all_channels_config())  # a new worker, same table
    again = [r for record in records for r in await restarted.deliver(record)]
    assert {r.status for r in again} == {"duplicate_skipped"}
    assert {name: len(vendors.by_channel(name).requests) for name in calls} == calls
    assert again[0].external_ref == "101"  # the receipt still names the message


def _crash_during(vendor, store: dict) -> dict:
    """Arm `vendor` so the returned dict holds the store as of its last request."""
    at_send: dict = {}
    vendor.on_request = lambda seen: (at_send.clear(), at_send.update(store))
    return at_send


async def _crash_then_redeliver(make_notifier, vendor, cfg, before, msg):
    store: dict = {}
    notifier = make_notifier(store=store, **cfg)
    for earlier in before:
        await notifier.deliver(earlier)
    at_send = _crash_during(vendor, store)
    [sent] = await notifier.deliver(msg)
    assert sent.status == "delivered"
    vendor.on_request = None
    restarted = make_notifier(store=dict(at_send), **cfg)  # the uncommitted writes are gone
    [again] = await restarted.deliver(msg)
    assert again.status == "delivered"
    return sent, again


async def test_pagerduty_crash_redelivery_keeps_one_incident(make_notifier, vendors):
    before = _possible_duplicates("pagerduty")
    await _crash_then_redeliver(make_notifier, vendors.pagerduty, all_channels_config(), [],
                                message(severity="P1", channels=["pagerduty"]))
    assert list(vendors.pagerduty.incidents) == ["inc-checkout-1"]  # PagerDuty folded the repeat
    assert _possible_duplicates("pagerduty") == before


async def test_jira_crash_after_create_finds_the_issue_by_label(make_notifier, vendors):
    sent, again = await _crash_then_redeliver(make_notifier, vendors.jira, all_channels_config(), [],
                                              message("ticket_create"))
    assert list(vendors.jira.issues) == ["OPS-1"] and sent.external_ref == again.external_ref == "OPS-1"


async def test_jira_crash_after_comment_and_resolve_comments_once(make_notifier, vendors):
    cfg = all_channels_config()
    await _crash_then_redeliver(make_notifier, vendors.jira, cfg, [message("ticket_create")],
                                message("ticket_comment", key="c1", body="Reappeared."))
    await _crash_then_redeliver(make_notifier, vendors.jira, cfg, [],
                                message("ticket_resolve", key="r1", body="Resolved."))
    [issue] = vendors.jira.issues.values()
    assert len(issue["comments"]) == 2 and issue["status"] == "Done" and issue["transitions"] == 1


async def test_telegram_crash_after_an_edit_keeps_one_message(make_notifier, vendors):
    before = _possible_duplicates("telegram")
    await _crash_then_redeliver(make_notifier, vendors.telegram, all_channels_config(),
                                [message(severity="P1", channels=["telegram"])],
                                message("update", key="u1", severity="P1", title="still failing", channels=["telegram"]))
    assert list(vendors.telegram.messages) == [101]
    assert _possible_duplicates("telegram") == before


async def test_slack_crash_after_an_edit_keeps_one_message(make_notifier, vendors):
    cfg = all_channels_config(slack={"webhook_url": "", "bot_token": SLACK_BOT_TOKEN,
                                     "api_base": "https://slack.test/api", "thread_updates": False})
    await _crash_then_redeliver(make_notifier, vendors.slack, cfg, [message(channels=["slack"])],
                                message("update", key="u1", title="still failing", channels=["slack"]))
    assert len(vendors.slack.messages) == 1


@pytest.mark.parametrize("channel", ["webhook", "ntfy", "discord"])
async def test_channels_that_cannot_deduplicate_count_the_duplicate(make_notifier, vendors, channel):
    before = _possible_duplicates(channel)
    vendor = vendors.by_channel(channel)
    await _crash_then_redeliver(make_notifier, vendor, all_channels_config(), [],
                                message(channels=[channel]))
    delivered = {"webhook": lambda: vendors.webhook.received, "ntfy": lambda: vendors.ntfy.published,
                 "discord": lambda: vendors.discord.messages}[channel]()
    assert len(delivered) == 2  # the vendor shows it twice ...
    assert _possible_duplicates(channel) == before + 1  # ... and we counted it
