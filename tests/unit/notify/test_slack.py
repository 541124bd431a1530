"""Slack: the exact webhook request, and bot mode keeping one message per incident."""

from __future__ import annotations

from tests.unit.notify.conftest import message
from tests.unit.notify.fakes import SLACK_BOT_TOKEN, all_channels_config

BOT = {"slack": {"webhook_url": "", "bot_token": SLACK_BOT_TOKEN, "api_base": "https://slack.test/api"}}


async def test_webhook_posts_block_kit_json(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config())
    [receipt] = await notifier.deliver(message(channels=["slack"]))
    [request] = vendors.slack.requests
    assert (request.method, request.path) == ("POST", "/services/T0001/B0001/SLACKhookSECRET123")
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["text"] == "[P2] ALERT checkout: upstream connect() failed (111: Connection refused)"
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "section", "context"]
    assert receipt.status == "delivered"


async def test_bot_posts_once_then_edits_and_replies_in_thread(make_notifier, vendors):
    notifier = make_notifier(**all_channels_config(**BOT))
    first = await notifier.deliver(message("alert", channels=["slack"]))
    update = await notifier.deliver(message("update", key="u1", title="still failing", channels=["slack"]))
    resolved = await notifier.deliver(message("resolved", key="r1", title="recovered", channels=["slack"]))
    post = vendors.slack.requests[0]
    assert (post.path, post.headers["authorization"]) == ("/api/chat.postMessage", f"Bearer {SLACK_BOT_TOKEN}")
    assert post.json()["channel"] == "#backend-alerts"
    assert [r.path for r in vendors.slack.requests] == [
        "/api/chat.postMessage", "/api/chat.update", "/api/chat.postMessage", "/api/chat.update", "/api/chat.postMessage"]
    [parent] = vendors.slack.top_level()  # one incident, one message ...
    assert parent["text"].startswith("[P2] RESOLVED checkout: recovered")  # ... showing the latest state
    assert [r["thread_ts"] for r in vendors.slack.replies()] == [first[0].external_ref] * 2
    assert first[0].external_ref == update[0].external_ref == resolved[0].external_ref


async def test_ok_false_ratelimited_is_retried_and_invalid_auth_is_not(make_notifier, vendors, clock):
    import httpx
    notifier = make_notifier(**all_channels_config(**BOT))
    vendors.slack.script = [httpx.Response(200, headers={"Retry-After": "4"}, json={"ok": False, "error": "ratelimited"})]
    [ok] = await notifier.deliver(message(channels=["slack"]))
    assert ok.status == "delivered" and ok.attempts == 2 and clock.sleeps[0] == 4.0
    vendors.slack.script = [httpx.Response(200, json={"ok": False, "error": "invalid_auth"})]
    [bad] = await notifier.deliver(message(key="other", incident_id="inc-2", channels=["slack"]))
    assert (bad.status, bad.attempts, bad.error) == ("failed", 1, "slack_invalid_auth: chat.postMessage: invalid_auth")
