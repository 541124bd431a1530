"""Conformance over every HTTP channel (Alertmanager style): the retry decision for each
HTTP status, Retry-After honoured, and no secret in any error, receipt, dead letter or
log record."""

from __future__ import annotations

import logging

import httpx
import pytest

from agents.notify.channels import CHANNELS
from agents.notify.channels.http_outcome import retry_decision
from agents.notify.config import NotifyConfig
from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import ALL_SECRETS, SLACK_BOT_TOKEN, all_channels_config

# (label, channel name, config overrides): Slack in both of its modes.
VARIANTS = [
    ("slack-webhook", "slack", {}),
    ("slack-bot", "slack", {"slack": {"webhook_url": "", "bot_token": SLACK_BOT_TOKEN, "api_base": "https://slack.test/api"}}),
    ("telegram", "telegram", {}),
    ("jira", "jira", {}),
    ("pagerduty", "pagerduty", {}),
    ("discord", "discord", {}),
    ("ntfy", "ntfy", {}),
    ("webhook", "webhook", {}),
]
STATUSES = [200, 201, 202, 204, 301, 304, 400, 401, 403, 404, 405, 408, 409, 410, 413, 422,
            429, 500, 501, 502, 503, 504, 599]
# Kinds each channel exercises in the status sweep (Jira takes tickets, not digests).
KIND = {"jira": "ticket_create"}


def test_decision_table():
    assert [retry_decision(s) for s in (200, 299, 300, 400, 404, 408, 429, 499, 500, 599)] == [
        "delivered", "delivered", "permanent", "permanent", "permanent", "retryable",
        "retryable", "permanent", "retryable", "retryable"]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("label,name,overrides", VARIANTS, ids=[v[0] for v in VARIANTS])
async def test_retry_decision_for_every_status(vendors, label, name, overrides, status):
    cfg = NotifyConfig.model_validate(all_channels_config(**overrides))
    vendor = vendors.by_channel(name)
    if 200 <= status < 300:
        vendor.force_status = status  # the vendor's normal answer, with this status
    else:
        vendor.script = [vendor.error(status)] * 5
    async with vendors.client() as client:
        channel = CHANNELS[name](cfg, client)
        result = await channel.send(message(KIND.get(name, "alert")), {})
    assert result.outcome == retry_decision(status), (label, status, result)
    assert vendor.requests, "the fake was never called"
    if result.outcome != "delivered":
        assert result.reason.startswith("http_") or result.reason.startswith("slack_")


@pytest.mark.parametrize("label,name,overrides", VARIANTS, ids=[v[0] for v in VARIANTS])
async def test_network_error_is_retryable(vendors, label, name, overrides):
    cfg = NotifyConfig.model_validate(all_channels_config(**overrides))
    vendor = vendors.by_channel(name)
    vendor.script = [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")]
    async with vendors.client() as client:
        channel = CHANNELS[name](cfg, client)
        first = await channel.send(message(KIND.get(name, "alert")), {})
        second = await channel.send(message(KIND.get(name, "alert")), {})
    assert (first.outcome, first.reason) == ("retryable", "network")
    assert (second.outcome, second.reason) == ("retryable", "timeout")


# Retry-After each fake sends with its 429 (None: the vendor sends none, backoff applies).
RETRY_AFTER = {"slack-webhook": 3.0, "slack-bot": 3.0, "telegram": 7.0, "jira": 2.0,
               "discord": 0.75, "pagerduty": None, "ntfy": None, "webhook": None}


@pytest.mark.parametrize("label,name,overrides", VARIANTS, ids=[v[0] for v in VARIANTS])
async def test_429_waits_as_the_vendor_asked_then_delivers(make_notifier, vendors, clock, label, name, overrides):
    notifier = make_notifier(**all_channels_config(**overrides))
    vendor = vendors.by_channel(name)
    vendor.script = [vendor.error(429)]
    msg = message(KIND.get(name, "alert"), channels=[name])
    [receipt] = await notifier.deliver(msg)
    assert receipt.status == "delivered" and receipt.attempts == 2
    waited = [s for s in clock.sleeps if s > 0]
    expected = RETRY_AFTER[label]
    # The first sleep is the retry delay (any later one is the channel's rate limit).
    # rng() is 0.5 in the fixture: full jitter of base 0.5 s gives 0.25 s for the first retry.
    assert waited[0] == (expected if expected is not None else 0.25)


@pytest.mark.parametrize("label,name,overrides", VARIANTS, ids=[v[0] for v in VARIANTS])
async def test_no_secret_in_errors_receipts_dead_letters_or_logs(make_notifier, vendors, caplog, label, name, overrides):
    caplog.set_level(logging.DEBUG)
    notifier = make_notifier(**all_channels_config(**overrides), retry={"max_attempts": 3})
    vendor = vendors.by_channel(name)
    # Exceptions that quote the URL, as httpx's own do, then a 5xx, then a 4xx.
    vendor.script = [httpx.ConnectError(f"cannot connect to {req_url}") for req_url in ALL_SECRETS[:1]] + \
        [vendor.error(503), vendor.error(401)]
    msg = message(KIND.get(name, "alert"), channels=[name])
    receipts = await notifier.deliver(msg)
    letters = notifier.failed_dead_letters(msg, receipts)
    assert receipts[0].status == "failed" and receipts[0].attempts == 3
    assert receipts[0].error.startswith("http_401")
    assert len(letters) == 1 and letters[0].reason == "http_401"
    assert "HTTP Request" in caplog.text  # httpx did log the request line ...
    exposed = caplog.text + "".join(r.model_dump_json() for r in receipts) + \
        "".join(d.model_dump_json() for d in letters)
    for secret in ALL_SECRETS:
        assert secret not in exposed, f"{label} leaked a secret"  # ... without the secret
